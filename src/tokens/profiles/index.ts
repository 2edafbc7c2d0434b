/**
 * The vision-token profile registry: built-in profiles for the models opticmem targets, plus
 * profiles users register. Every profile handed out checks its sizes, so a renderer passing a
 * bad canvas learns which side is wrong.
 */
import { InvalidInputError, UnknownProfileError } from '../../errors.js';
import type { CanvasSize, VisionTokenProfile } from '../vision-token-profile.js';
import { createClaudeProfiles } from './claude.js';
import { createDeepseekOcrProfiles } from './deepseek-ocr.js';
import { createGeminiProfile } from './gemini.js';
import { createInternVl2Profile } from './internvl.js';
import { createOpenAiProfiles } from './openai.js';
import { createQwenVlProfiles } from './qwen-vl.js';
import { createVaryProfile } from './vary.js';

/** Short names that resolve to a registered profile. */
const ALIASES: Readonly<Record<string, string>> = Object.freeze({ 'deepseek-ocr': 'deepseek-ocr:base' });

const registry = new Map<string, VisionTokenProfile>();

function canonicalName(name: string): string {
  return Object.hasOwn(ALIASES, name) ? (ALIASES[name] as string) : name;
}

function checkSide(field: 'width' | 'height', value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new InvalidInputError(field, `'${field}' must be a positive whole number of pixels; got ${String(value)}.`);
  }
}

function checkSize(width: unknown, height: unknown): void {
  checkSide('width', width);
  checkSide('height', height);
}

/** The same profile with its size arguments checked before it computes anything. */
function guarded(profile: VisionTokenProfile): VisionTokenProfile {
  const validTokensFor = profile.validTokensFor;
  return Object.freeze({
    specificationVersion: 'v1' as const,
    name: profile.name,
    description: profile.description,
    tokensFor: (width: number, height: number) => {
      checkSize(width, height);
      return profile.tokensFor(width, height);
    },
    effectiveSize: (width: number, height: number) => {
      checkSize(width, height);
      return profile.effectiveSize(width, height);
    },
    ...(validTokensFor
      ? {
          validTokensFor: (width: number, height: number) => {
            checkSize(width, height);
            return validTokensFor.call(profile, width, height);
          },
        }
      : {}),
    sizes: () => profile.sizes(),
    ...(profile.legibility ? { legibility: Object.freeze({ ...profile.legibility }) } : {}),
  });
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}

function isCanvasSize(value: unknown): value is CanvasSize {
  if (typeof value !== 'object' || value === null) return false;
  const size = value as Record<string, unknown>;
  return isPositiveInteger(size.width) && isPositiveInteger(size.height);
}

/** Checks a user profile against the spec before it can reach a renderer. */
function validateProfile(profile: unknown): asserts profile is VisionTokenProfile {
  if (typeof profile !== 'object' || profile === null) {
    throw new InvalidInputError('profile', `'profile' must be a vision-token profile object; got ${String(profile)}.`);
  }
  const p = profile as Record<string, unknown>;
  if (p.specificationVersion !== 'v1') {
    throw new InvalidInputError(
      'profile.specificationVersion',
      `'profile.specificationVersion' must be 'v1'; got ${String(p.specificationVersion)}.`,
    );
  }
  if (typeof p.name !== 'string' || p.name.trim() === '' || p.name !== p.name.trim()) {
    throw new InvalidInputError('profile.name', `'profile.name' must be a non-empty name without surrounding spaces.`);
  }
  if (registry.has(p.name) || Object.hasOwn(ALIASES, p.name)) {
    throw new InvalidInputError(
      'profile.name',
      `A vision-token profile named '${p.name}' is already registered; give 'profile.name' another name.`,
    );
  }
  if (typeof p.description !== 'string') {
    throw new InvalidInputError('profile.description', `'profile.description' must be a string.`);
  }
  for (const method of ['tokensFor', 'effectiveSize', 'sizes'] as const) {
    if (typeof p[method] !== 'function') {
      throw new InvalidInputError(`profile.${method}`, `'profile.${method}' must be a function.`);
    }
  }
  if (p.validTokensFor !== undefined && typeof p.validTokensFor !== 'function') {
    throw new InvalidInputError('profile.validTokensFor', `'profile.validTokensFor' must be a function when given.`);
  }

  if (p.legibility !== undefined) {
    const l = p.legibility as Record<string, unknown> | null;
    if (typeof l !== 'object' || l === null || typeof l.minGlyphPx !== 'number' || !(l.minGlyphPx > 0 && l.minGlyphPx <= 256) || typeof l.source !== 'string') {
      throw new InvalidInputError('profile.legibility', `'profile.legibility' must be { minGlyphPx: a number of pixels in (0, 256], source: a string saying where it comes from }.`);
    }
  }
  const candidate = profile as VisionTokenProfile;
  const sizes: unknown = candidate.sizes();
  if (!Array.isArray(sizes) || sizes.length === 0 || !sizes.every(isCanvasSize)) {
    throw new InvalidInputError(
      'profile.sizes',
      `'profile.sizes' must return at least one { width, height } of positive whole pixels.`,
    );
  }
  let previous = 0;
  for (const size of sizes as CanvasSize[]) {
    const tokens = candidate.tokensFor(size.width, size.height);
    if (!isPositiveInteger(tokens)) {
      throw new InvalidInputError(
        'profile.tokensFor',
        `'profile.tokensFor' must return a positive whole number of tokens; got ${String(tokens)} for ${size.width}x${size.height}.`,
      );
    }
    if (tokens <= previous) {
      throw new InvalidInputError(
        'profile.sizes',
        `'profile.sizes' must list canvases by increasing token count; ${size.width}x${size.height} costs ${tokens}, not more than the one before (${previous}).`,
      );
    }
    previous = tokens;
    if (!isCanvasSize(candidate.effectiveSize(size.width, size.height))) {
      throw new InvalidInputError(
        'profile.effectiveSize',
        `'profile.effectiveSize' must return { width, height } of positive whole pixels for ${size.width}x${size.height}.`,
      );
    }
  }
}

function add(profile: VisionTokenProfile): VisionTokenProfile {
  const safe = guarded(profile);
  registry.set(profile.name, safe);
  return safe;
}

for (const profile of [
  ...createDeepseekOcrProfiles(),
  ...createQwenVlProfiles(),
  createInternVl2Profile(),
  createVaryProfile(),
  ...createOpenAiProfiles(),
  ...createClaudeProfiles(),
  createGeminiProfile(),
]) {
  add(profile);
}

/** Registered profile names, sorted; aliases such as `deepseek-ocr` are not listed. */
export function listProfiles(): string[] {
  return [...registry.keys()].sort();
}

/** The profile registered under `name` (or an alias of it). */
export function getProfile(name: string): VisionTokenProfile {
  const profile = registry.get(canonicalName(name));
  if (!profile) throw new UnknownProfileError(name, [...listProfiles(), ...Object.keys(ALIASES)].sort());
  return profile;
}

/**
 * Adds a user profile after checking it: the v1 shape, a new name, and `sizes()` listing
 * canvases of strictly increasing positive token counts. Returns the registered (size-checked)
 * profile.
 */
export function registerProfile(profile: VisionTokenProfile): VisionTokenProfile {
  validateProfile(profile);
  return add(profile);
}

export { createClaudeProfile } from './claude.js';
export type { ClaudeProfileOptions } from './claude.js';
export { createDeepseekOcrGundamProfile } from './deepseek-ocr.js';
export type { DeepseekOcrGundamOptions } from './deepseek-ocr.js';
export { createOpenAiTileProfile } from './openai.js';
export type { OpenAiTileProfileOptions } from './openai.js';
export { createQwenVlProfile } from './qwen-vl.js';
export type { QwenVlProfileOptions } from './qwen-vl.js';
