/**
 * opticmem: optical long-context memory for LLM agents. Importing this module loads no native
 * code; canvas, onnxruntime and LanceDB load on first use.
 */
export * from './errors.js';
export type { TextTokenizer, TextTokenizerV1 } from './tokens/text-tokenizer.js';
export { createO200kTokenizer } from './tokens/text-tokenizer.js';
export type { CanvasSize, Legibility, VisionTokenProfile, VisionTokenProfileV1 } from './tokens/vision-token-profile.js';
export { legibilityOf, parseLegibility, seenGlyphPx, LegibilityPresetSchema, type LegibilityPreset, type LegibilityOverride, type LegibilityInput } from './tokens/legibility.js';
export { getProfile, listProfiles, registerProfile } from './tokens/profiles/index.js';
export type { Decoder, DecoderV1, DecoderInput, DecodeOptions, DecodedText, DecodedLine } from './decoders/decoder.js';
export { createOnnxDecoder } from './decoders/onnx/index.js';
export { createLocalDecoder, LOCAL_READERS, type LocalDecoderOptions, type LocalReader } from './decoders/local-decoder.js';
export { createGlyphDecoder, GLYPH_DECODER_NAME, type GlyphDecoderOptions } from './decoders/glyph/glyph-decoder.js';
export type { LineBox, PageGeometry, RenderedPage } from '../renderers/page.js';
export type { RenderTurn, FontChoice } from '../renderers/text-layout.js';
export { escapeUnreadable, unescapeUnreadable } from '../renderers/text-layout.js';
export type { Renderer, RendererV1, PageLayoutPlan } from '../renderers/page-renderer.js';
export { createCanvasRenderer, renderPage } from '../renderers/page-renderer.js';
export type { PagePlan, PlanOptions, TurnSlice } from '../renderers/page-planner.js';
export { planPages, pageSourceText } from '../renderers/page-planner.js';
export { readGeometry, readPngInfo } from '../renderers/png.js';
export type { EncodeOptions, EncodedPage, VerifyOptions, DecodePageOptions, DecodedPage } from './codec/codec.js';
export { encode, decode, DEFAULT_PROFILE } from './codec/codec.js';
export { fidelity, normalizeForFidelity } from './codec/fidelity.js';
export { createOpenAIDecoder, OPENAI_OCR_PROMPTS, type OpenAIDecoderOptions } from './decoders/openai-decoder.js';
export type { Embedder, EmbedderV1 } from './embedders/embedder.js';
export { createOpenAIEmbedder, type OpenAIEmbedderOptions } from './embedders/openai-embedder.js';
export { Memory, type MemoryOptions, type AddResult, type CompactResult, type CompactOptions, type CompactProgress, type CompactionEvent, type FlushResult, type RecallOptions, type RecallHit, type SkippedPage, type MemoryExport } from '../memory/memory.js';
export { MESSAGE_OVERHEAD_TOKENS, type BuildContextOptions, type BuiltContext, type ContextMessage, type ContextPart, type ContextPage, type ContextTurn } from '../memory/context-builder.js';
export type { RecallTurnsOptions, TurnHit } from '../memory/turn-recall.js';
export type { ChatMessage } from '../memory/messages.js';
export { ANY, type MemoryStore, type MemoryStoreV1, type Scope, type TurnRow, type PageRow, type TombstoneRow, type PageHit, type SearchOptions, type PageTurnRow, type TurnSearchHit } from '../memory/store/store.js';
export { openLanceStore, type LanceStoreOptions } from '../memory/store/index.js';
export { createEbbinghausCurve, createFsrsCurve, getRetentionCurve, type RetentionCurve, type RetentionCurveV1, type MemoryState } from '../memory/retention.js';
export { RATIO_LADDER, DEEPSEEK_MODE_LADDER, stepFor, type Ladder, type LadderStep } from '../memory/ladder.js';
export { pageRetention, type AgeOptions, type AgeResult, type AgeingStrategy, type MoveStrategy, type PageMove } from '../memory/ageing.js';
export { calibrate, CalibrationBudgetError, createOpenAINeedleAsker, DEFAULT_SIZES as CALIBRATION_SIZES, type NeedleAsker, type CalibrateOptions, type CalibrationProgress, type CalibrationResult, type CalibrationRow, type CalibrationPageResult, type CostEstimate } from './calibrate/calibrate.js';
