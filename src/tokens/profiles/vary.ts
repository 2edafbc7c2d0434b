/**
 * Vary: one fixed 1024x1024 view.
 *
 * Sources: the Vary paper ("Vary: Scaling up the Vision Vocabulary for Large Vision-Language
 * Models"): the SAM-base vision vocabulary takes a 1024x1024 input, 16x16 patches give 64x64,
 * two stride-2 convolutions give 16x16 = 256 tokens; and Ucas-HaoranWei/Vary
 * (vary/model/plug/transforms.py `test_transform` is `Resize(1024, 1024)`, run_qwen_vary.py uses
 * `image_token_len = 256`). The page is stretched to the square, not padded.
 */
import type { CanvasSize, VisionTokenProfile } from '../vision-token-profile.js';

const SIDE = 1024;
const TOKENS = 256;

export function createVaryProfile(): VisionTokenProfile {
  const sizes: readonly CanvasSize[] = Object.freeze([Object.freeze({ width: SIDE, height: SIDE })]);
  return {
    specificationVersion: 'v1',
    name: 'vary',
    description: 'Vary: every image resized to 1024x1024 and encoded as 256 tokens (Vary paper; test_transform).',
    tokensFor: () => TOKENS,
    effectiveSize: () => ({ width: SIDE, height: SIDE }),
    sizes: () => sizes,
  };
}
