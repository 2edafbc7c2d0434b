/** Store rows without rendering: a page with a stand-in image (the PNG signature and a few bytes) and cached text, and a turn. */
import type { PageRow, TurnRow } from '../../memory/store/store.js';

export function pageRow(id: string, userId: string, decodedText: string, png: Uint8Array = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3])): PageRow {
  return {
    id, userId, agentId: '', sessionId: '', turnIds: [`${id}-t`], firstSeq: 1, lastSeq: 2, startTime: 0, endTime: 1, tier: 'lossless',
    profile: 'deepseek-ocr:base', png, geometry: '{}', width: 1024, height: 1024, textTokens: 100, visualTokens: 256, ratio: 0.4,
    targetRatio: 10, fidelity: 1, decodedText, vector: [], strength: 1, recallCount: 0, lastRecalledAt: 0, pinned: false, importance: 1,
    createdAt: 0, updatedAt: 0,
  };
}

export function turnRow(id: string, userId: string, content: string): TurnRow {
  return { id, userId, agentId: '', sessionId: '', seq: 1, role: 'user', name: '', content, textTokens: 12, createdAt: 1 };
}
