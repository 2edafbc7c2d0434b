/**
 * Creating onnxruntime sessions for the OCR models, with failures turned into ModelLoadErrors
 * that say what to do.
 */
import { readFile } from 'node:fs/promises';
import type { InferenceSession } from 'onnxruntime-node';
import { ModelLoadError } from '../../errors.js';
import { loadOnnxRuntime } from '../../internal/lazy.js';
import { tuneOnnxGraph } from './graph-tuning.js';

export type OnnxRuntime = Awaited<ReturnType<typeof loadOnnxRuntime>>;

export interface SessionSettings {
  /** Threads inside one operator. Two matches small CI machines; more helps on big ones. */
  readonly threads: number;
  /** Apply the exact graph rewrites of graph-tuning.ts before loading (about 1.9x faster recognition). */
  readonly tuneGraph: boolean;
}

/** Load `path` as a CPU session. `role` names the model in error messages ('recognition', 'detection'). */
async function createSession(ort: OnnxRuntime, path: string, role: string, settings: SessionSettings): Promise<InferenceSession> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    throw loadError(path, role, cause);
  }
  if (settings.tuneGraph) {
    // Tuning only speeds a graph up; a model it cannot parse or that onnxruntime then refuses
    // loads as shipped, and any real defect of the file surfaces from that load below.
    const tuned = await tuneOnnxGraph(bytes).catch(() => undefined);
    const session = tuned && (await sessionFrom(ort, tuned.bytes, settings).catch(() => undefined));
    if (session) return session;
  }
  try {
    return await sessionFrom(ort, bytes, settings);
  } catch (cause) {
    throw loadError(path, role, cause);
  }
}

function loadError(path: string, role: string, cause: unknown): ModelLoadError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new ModelLoadError(
    `Could not load the OCR ${role} model from ${path}: ${reason}. The file must be the PP-OCRv4 ${role} model in ONNX format; reinstall dependencies with 'npm install' or fix 'modelPaths.${role}'.`,
    { cause, field: `modelPaths.${role}` },
  );
}

function sessionFrom(ort: OnnxRuntime, bytes: Uint8Array, settings: SessionSettings): Promise<InferenceSession> {
  return ort.InferenceSession.create(bytes, {
    executionProviders: ['cpu'],
    intraOpNumThreads: settings.threads,
    interOpNumThreads: 1,
    // One model, one request at a time: a sequential graph avoids inter-op thread churn.
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    // Idle workers sleep instead of spinning: on small or shared machines spinning threads
    // steal the cores the busy ones need (measured ~25% faster on 2 vCPUs).
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  });
}

export interface OpenModel {
  readonly session: InferenceSession;
  readonly io: { readonly input: string; readonly output: string };
}

/** Create the session and check its inputs; a session that fails the check is released. */
export async function openModel(ort: OnnxRuntime, path: string, role: string, settings: SessionSettings): Promise<OpenModel> {
  const session = await createSession(ort, path, role, settings);
  try {
    return { session, io: ioNames(session, path, role) };
  } catch (error) {
    await session.release();
    throw error;
  }
}

/** The single input and output names of an OCR model, checked so a wrong file fails early. */
function ioNames(session: InferenceSession, path: string, role: string): { input: string; output: string } {
  const input = session.inputNames[0];
  const output = session.outputNames[0];
  if (input === undefined || output === undefined || session.inputNames.length !== 1) {
    throw new ModelLoadError(
      `The OCR ${role} model at ${path} has inputs [${session.inputNames.join(', ')}] and outputs [${session.outputNames.join(', ')}]; expected one image input and one output. Pass the PP-OCRv4 ${role} model in 'modelPaths.${role}'.`,
      { field: `modelPaths.${role}` },
    );
  }
  return { input, output };
}

/** Size of the last output dimension when the model fixes it (the class count of a recogniser). */
export function fixedOutputWidth(session: InferenceSession): number | undefined {
  const meta = session.outputMetadata[0];
  if (!meta || !meta.isTensor) return undefined;
  const last = meta.shape[meta.shape.length - 1];
  return typeof last === 'number' && last > 0 ? last : undefined;
}
