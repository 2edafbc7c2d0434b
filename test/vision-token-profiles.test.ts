import { describe, expect, it } from 'vitest';
import { InvalidInputError, UnknownProfileError } from '../src/errors.js';
import {
  createDeepseekOcrGundamProfile,
  createQwenVlProfile,
  getProfile,
  listProfiles,
  registerProfile,
} from '../src/tokens/profiles/index.js';
import type { CanvasSize, VisionTokenProfile } from '../src/tokens/vision-token-profile.js';

/** Odd, small, huge, square, portrait and landscape pages every profile must handle. */
const PROBES: readonly CanvasSize[] = [
  { width: 1, height: 1 },
  { width: 100, height: 100 },
  { width: 333, height: 777 },
  { width: 640, height: 641 },
  { width: 1024, height: 1024 },
  { width: 1240, height: 1754 },
  { width: 2480, height: 3508 },
  { width: 4000, height: 3000 },
  { width: 6000, height: 600 },
];

const BAD_SIDES: readonly unknown[] = [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '100', undefined];

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

function expectInvalid(fn: () => unknown, field: string): void {
  const error = thrown(fn);
  expect(InvalidInputError.isInstance(error), `expected InvalidInputError, got ${String(error)}`).toBe(true);
  expect((error as InvalidInputError).field).toBe(field);
}

function runConformance(name: string, load: () => VisionTokenProfile): void {
  describe(`conformance: ${name}`, () => {
    it('describes itself as a v1 profile under its registry name', () => {
      const profile = load();
      expect(profile.specificationVersion).toBe('v1');
      expect(profile.name).toBe(name);
      expect(profile.description.length).toBeGreaterThan(0);
    });

    it('charges a positive whole number of tokens for every canvas and probe', () => {
      const profile = load();
      for (const size of [...profile.sizes(), ...PROBES]) {
        const tokens = profile.tokensFor(size.width, size.height);
        expect(Number.isInteger(tokens) && tokens > 0, `${size.width}x${size.height} -> ${tokens}`).toBe(true);
      }
    });

    it('lists sizes() by strictly increasing tokens, and tokens never fall as area grows', () => {
      const profile = load();
      const sizes = profile.sizes();
      expect(sizes.length).toBeGreaterThan(0);
      const tokens = sizes.map((s) => profile.tokensFor(s.width, s.height));
      for (let i = 1; i < tokens.length; i++) {
        expect(tokens[i]!, `sizes()[${i}]`).toBeGreaterThan(tokens[i - 1]!);
      }
      const byArea = [...sizes].sort((a, b) => a.width * a.height - b.width * b.height);
      for (let i = 1; i < byArea.length; i++) {
        const before = byArea[i - 1]!;
        const after = byArea[i]!;
        expect(profile.tokensFor(after.width, after.height)).toBeGreaterThanOrEqual(
          profile.tokensFor(before.width, before.height),
        );
      }
    });

    it('keeps effectiveSize stable: resizing twice changes nothing, and sizes() are not resampled', () => {
      const profile = load();
      for (const size of profile.sizes()) {
        expect(profile.effectiveSize(size.width, size.height)).toEqual({ width: size.width, height: size.height });
      }
      for (const size of PROBES) {
        const once = profile.effectiveSize(size.width, size.height);
        expect(Number.isInteger(once.width) && once.width > 0 && Number.isInteger(once.height) && once.height > 0).toBe(
          true,
        );
        expect(profile.effectiveSize(once.width, once.height), `${size.width}x${size.height}`).toEqual(once);
        expect(profile.tokensFor(once.width, once.height)).toBe(profile.tokensFor(size.width, size.height));
      }
    });

    it('counts valid tokens, when it does, as a positive part of the charged tokens', () => {
      const profile = load();
      if (!profile.validTokensFor) return;
      for (const size of [...profile.sizes(), ...PROBES]) {
        const valid = profile.validTokensFor(size.width, size.height);
        expect(Number.isInteger(valid) && valid > 0).toBe(true);
        expect(valid).toBeLessThanOrEqual(profile.tokensFor(size.width, size.height));
      }
    });

    it('rejects sizes that are not positive whole pixels, naming the side', () => {
      const profile = load();
      for (const bad of BAD_SIDES) {
        const side = bad as number;
        expectInvalid(() => profile.tokensFor(side, 100), 'width');
        expectInvalid(() => profile.tokensFor(100, side), 'height');
        expectInvalid(() => profile.effectiveSize(side, 100), 'width');
        expectInvalid(() => profile.effectiveSize(100, side), 'height');
        if (profile.validTokensFor) {
          expectInvalid(() => profile.validTokensFor?.(side, 100), 'width');
          expectInvalid(() => profile.validTokensFor?.(100, side), 'height');
        }
      }
    });
  });
}

for (const name of listProfiles()) runConformance(name, () => getProfile(name));

/** A user profile: one 896 px square of 256 tokens, checked by the same suite once registered. */
const userProfile: VisionTokenProfile = {
  specificationVersion: 'v1',
  name: 'test-fixed-896',
  description: 'A fixed 896x896 canvas of 256 tokens.',
  tokensFor: () => 256,
  effectiveSize: () => ({ width: 896, height: 896 }),
  sizes: () => [{ width: 896, height: 896 }],
};
registerProfile(userProfile);
runConformance('test-fixed-896', () => getProfile('test-fixed-896'));

describe('registry', () => {
  it('lists the built-in profiles', () => {
    expect(listProfiles()).toEqual(
      expect.arrayContaining([
        'deepseek-ocr:tiny',
        'deepseek-ocr:small',
        'deepseek-ocr:base',
        'deepseek-ocr:large',
        'deepseek-ocr:gundam',
        'deepseek-ocr-2',
        'qwen2-vl',
        'qwen2.5-vl',
        'qwen3-vl',
        'internvl2',
        'vary',
        'gpt-4o',
        'gpt-4.1',
        'gpt-5',
        'claude',
        'claude:high-res',
        'gemini',
      ]),
    );
  });

  it('resolves deepseek-ocr to the Base mode', () => {
    expect(getProfile('deepseek-ocr').name).toBe('deepseek-ocr:base');
    expect(getProfile('deepseek-ocr').tokensFor(1240, 1754)).toBe(256);
  });

  it('throws UnknownProfileError naming the known profiles', () => {
    for (const name of ['gpt-9', 'toString', '']) {
      const error = thrown(() => getProfile(name));
      expect(UnknownProfileError.isInstance(error)).toBe(true);
      expect((error as UnknownProfileError).field).toBe('profile');
      expect((error as Error).message).toContain('gpt-4o');
      expect((error as Error).message).toContain('deepseek-ocr:gundam');
      expect((error as Error).message).toContain('deepseek-ocr,');
    }
  });

  it('returns registered user profiles with their sizes checked', () => {
    const profile = getProfile('test-fixed-896');
    expect(profile.tokensFor(1000, 1400)).toBe(256);
    expectInvalid(() => profile.tokensFor(0, 1400), 'width');
  });

  it('refuses user profiles that break the spec, naming the field', () => {
    const base = { ...userProfile, name: 'test-broken' };
    expectInvalid(() => registerProfile({ ...userProfile }), 'profile.name');
    expectInvalid(() => registerProfile({ ...base, name: 'gpt-4o' }), 'profile.name');
    expectInvalid(() => registerProfile({ ...base, name: 'deepseek-ocr' }), 'profile.name');
    expectInvalid(() => registerProfile({ ...base, name: ' padded ' }), 'profile.name');
    expectInvalid(() => registerProfile({ ...base, specificationVersion: 'v2' as 'v1' }), 'profile.specificationVersion');
    expectInvalid(
      () => registerProfile({ ...base, tokensFor: undefined as unknown as VisionTokenProfile['tokensFor'] }),
      'profile.tokensFor',
    );
    expectInvalid(() => registerProfile({ ...base, sizes: () => [] }), 'profile.sizes');
    expectInvalid(() => registerProfile({ ...base, sizes: () => [{ width: 10.5, height: 10 }] }), 'profile.sizes');
    expectInvalid(() => registerProfile({ ...base, tokensFor: () => 0.5 }), 'profile.tokensFor');
    expectInvalid(
      () =>
        registerProfile({
          ...base,
          tokensFor: (w) => (w === 512 ? 300 : 100),
          sizes: () => [
            { width: 512, height: 512 },
            { width: 1024, height: 1024 },
          ],
        }),
      'profile.sizes',
    );
    expect(listProfiles()).not.toContain('test-broken');
  });
});

describe('DeepSeek-OCR (paper arXiv 2510.18234 and deepseek-ai/DeepSeek-OCR code)', () => {
  it('paper sec. 3.2.2: native modes cost 64, 100, 256 and 400 tokens whatever the page size', () => {
    const expected: Record<string, number> = { tiny: 64, small: 100, base: 256, large: 400 };
    for (const [mode, tokens] of Object.entries(expected)) {
      const profile = getProfile(`deepseek-ocr:${mode}`);
      for (const page of PROBES) expect(profile.tokensFor(page.width, page.height)).toBe(tokens);
    }
  });

  it('paper sec. 3.2.2: Tiny and Small resize to the square, Base and Large pad keeping the aspect', () => {
    expect(getProfile('deepseek-ocr:tiny').effectiveSize(1240, 1754)).toEqual({ width: 512, height: 512 });
    expect(getProfile('deepseek-ocr:small').effectiveSize(1754, 1240)).toEqual({ width: 640, height: 640 });
    // ImageOps.pad: 1000x1500 into 1024 keeps 2:3, 1024 * 2/3 = 682.7 -> 683.
    expect(getProfile('deepseek-ocr:base').effectiveSize(1000, 1500)).toEqual({ width: 683, height: 1024 });
    expect(getProfile('deepseek-ocr:large').effectiveSize(1500, 1000)).toEqual({ width: 1280, height: 853 });
  });

  it('paper eq. (1): N_valid = ceil(N x (1 - (max - min) / max)) for padded pages', () => {
    expect(getProfile('deepseek-ocr:base').validTokensFor?.(800, 1000)).toBe(205); // 256 * 0.8 = 204.8
    expect(getProfile('deepseek-ocr:large').validTokensFor?.(600, 1200)).toBe(200); // 400 * 0.5
    expect(getProfile('deepseek-ocr:base').validTokensFor?.(1024, 1024)).toBe(256);
    // Resized modes have no padding, so every token is valid.
    expect(getProfile('deepseek-ocr:tiny').validTokensFor?.(800, 1000)).toBe(64);
  });

  it('paper sec. 3.2.2: Gundam costs n x 100 + 256, with n = 0 for small pages (code: both sides <= 640)', () => {
    const gundam = getProfile('deepseek-ocr:gundam');
    expect(gundam.tokensFor(600, 400)).toBe(256);
    expect(gundam.tokensFor(640, 640)).toBe(256);
    expect(gundam.tokensFor(641, 640)).toBe(656); // 2x2 tiles: dynamic_preprocess never uses one tile
    expect(gundam.tokensFor(1280, 1280)).toBe(656); // 2x2
    expect(gundam.tokensFor(1240, 1754)).toBe(856); // aspect 0.71 -> 2x3
    expect(gundam.tokensFor(3000, 600)).toBe(756); // aspect 5 -> 5x1
    expect(gundam.effectiveSize(1240, 1754)).toEqual({ width: 1280, height: 1920 });
  });

  it('paper: 2 to 9 tiles (HuggingFace infer max_num=9); the vLLM config caps at 6', () => {
    // A large square ties 2x2 and 3x3; the page covers over half of 3x3, so 3x3 wins.
    expect(getProfile('deepseek-ocr:gundam').tokensFor(2000, 2000)).toBe(9 * 100 + 256);
    expect(createDeepseekOcrGundamProfile({ maxTiles: 6 }).tokensFor(2000, 2000)).toBe(4 * 100 + 256);
  });

  it('HuggingFace infer valid-token count: tiles count fully, the padded global view by eq. (1)', () => {
    const gundam = getProfile('deepseek-ocr:gundam');
    expect(gundam.validTokensFor?.(600, 400)).toBe(171); // ceil(256 * 400 / 600)
    expect(gundam.validTokensFor?.(1240, 1754)).toBe(6 * 100 + 181); // ceil(256 * 1240 / 1754) = 181
  });
});

describe('DeepSeek-OCR-2 (deepseek-ai/DeepSeek-OCR-2 DeepSeek-OCR2-vllm/process/image_process.py)', () => {
  const ocr2 = () => getProfile('deepseek-ocr-2');

  it('costs 256 for the global view alone when both sides are <= 768', () => {
    expect(ocr2().tokensFor(768, 768)).toBe(256);
    expect(ocr2().tokensFor(500, 700)).toBe(256);
  });

  it('adds 144 per 768x768 tile, 2..6 tiles, so at most 1120 tokens', () => {
    expect(ocr2().tokensFor(769, 768)).toBe(256 + 4 * 144);
    expect(ocr2().tokensFor(2304, 1536)).toBe(256 + 6 * 144); // 3x2
    expect(ocr2().tokensFor(5000, 500)).toBe(1120); // 6x1, the largest grid
    for (const page of PROBES) expect(ocr2().tokensFor(page.width, page.height)).toBeLessThanOrEqual(1120);
  });
});

describe('Qwen-VL (transformers smart_resize; checkpoint preprocessor_config.json; Qwen2-VL model card)', () => {
  it('Qwen2-VL model card: 4 to 16384 visual tokens per image', () => {
    const qwen = getProfile('qwen2-vl');
    expect(qwen.tokensFor(28, 28)).toBe(4);
    expect(qwen.tokensFor(8000, 8000)).toBe(16384);
    for (const page of PROBES) {
      const tokens = qwen.tokensFor(page.width, page.height);
      expect(tokens).toBeGreaterThanOrEqual(4);
      expect(tokens).toBeLessThanOrEqual(16384);
    }
  });

  it('smart_resize rounds each side to a multiple of 28 and charges one token per 28x28 block', () => {
    for (const name of ['qwen2-vl', 'qwen2.5-vl']) {
      const qwen = getProfile(name);
      expect(qwen.tokensFor(1120, 840)).toBe(40 * 30);
      expect(qwen.effectiveSize(1000, 700)).toEqual({ width: 1008, height: 700 });
      expect(qwen.tokensFor(1000, 700)).toBe(36 * 25);
    }
  });

  it("smart_resize uses Python's round(): a side of 2.5 patches rounds to 2, 3.5 to 4", () => {
    const qwen = getProfile('qwen2-vl');
    expect(qwen.tokensFor(70, 2800)).toBe(2 * 100);
    expect(qwen.tokensFor(98, 2800)).toBe(4 * 100);
    expect(qwen.tokensFor(2800, 70)).toBe(100 * 2);
    expect(qwen.tokensFor(2800, 98)).toBe(100 * 4);
  });

  it('smart_resize rejects aspect ratios above 200, naming the long side', () => {
    expectInvalid(() => getProfile('qwen2-vl').tokensFor(10, 2100), 'height');
    expectInvalid(() => getProfile('qwen3-vl').tokensFor(2100, 10), 'width');
  });

  it('Qwen2-VL model card: min_pixels=256*28*28, max_pixels=1280*28*28 bound tokens to 256-1280', () => {
    const bounded = createQwenVlProfile({
      name: 'qwen2-vl-256-1280',
      factor: 28,
      minPixels: 256 * 28 * 28,
      maxPixels: 1280 * 28 * 28,
    });
    expect(bounded.tokensFor(100, 100)).toBe(256);
    for (const page of PROBES) {
      const tokens = bounded.tokensFor(page.width, page.height);
      expect(tokens).toBeGreaterThanOrEqual(256);
      expect(tokens).toBeLessThanOrEqual(1280);
    }
  });

  it('Qwen3-VL preprocessor_config: 32 px per token, 65536..16777216 pixels (64..16384 tokens)', () => {
    const qwen3 = getProfile('qwen3-vl');
    expect(qwen3.tokensFor(1024, 768)).toBe(32 * 24);
    expect(qwen3.tokensFor(32, 32)).toBe(64);
    expect(qwen3.effectiveSize(32, 32)).toEqual({ width: 256, height: 256 });
    expect(qwen3.tokensFor(10000, 10000)).toBe(16384);
  });
});

describe('InternVL2 (model card load_image / dynamic_preprocess, max_num=12, use_thumbnail=True)', () => {
  const internvl = () => getProfile('internvl2');

  it('uses one 448x448 tile of 256 tokens for a square page, with no thumbnail', () => {
    expect(internvl().tokensFor(448, 448)).toBe(256);
    expect(internvl().tokensFor(300, 300)).toBe(256);
  });

  it('adds a thumbnail tile when the grid has more than one tile', () => {
    expect(internvl().tokensFor(896, 896)).toBe((4 + 1) * 256);
    expect(internvl().tokensFor(800, 1300)).toBe((6 + 1) * 256); // aspect 0.62 -> 2x3
    expect(internvl().effectiveSize(800, 1300)).toEqual({ width: 896, height: 1344 });
    expect(internvl().tokensFor(200, 100)).toBe((2 + 1) * 256); // small pages are tiled by aspect too
  });

  it('never uses more than 12 tiles plus the thumbnail (3328 tokens)', () => {
    expect(internvl().tokensFor(1344, 1792)).toBe((12 + 1) * 256); // 3x4
    for (const page of PROBES) expect(internvl().tokensFor(page.width, page.height)).toBeLessThanOrEqual(3328);
  });
});

describe('Vary (Vary paper; Ucas-HaoranWei/Vary test_transform)', () => {
  it('resizes every image to 1024x1024 and encodes it as 256 tokens', () => {
    const vary = getProfile('vary');
    for (const page of PROBES) {
      expect(vary.tokensFor(page.width, page.height)).toBe(256);
      expect(vary.effectiveSize(page.width, page.height)).toEqual({ width: 1024, height: 1024 });
    }
  });
});

describe('OpenAI (Images and vision docs, tile-based image tokenization)', () => {
  it('docs example: a 1024x1024 image in detail high costs 765 tokens (gpt-4o, gpt-4.1)', () => {
    for (const name of ['gpt-4o', 'gpt-4.1']) {
      expect(getProfile(name).tokensFor(1024, 1024)).toBe(765);
      expect(getProfile(name).effectiveSize(1024, 1024)).toEqual({ width: 768, height: 768 });
    }
  });

  it('docs example: 2048x4096 is scaled to 1024x2048, then 768x1536: 6 tiles, 1105 tokens', () => {
    expect(getProfile('gpt-4o').effectiveSize(2048, 4096)).toEqual({ width: 768, height: 1536 });
    expect(getProfile('gpt-4o').tokensFor(2048, 4096)).toBe(1105);
  });

  it('docs table: gpt-5 charges 70 base + 140 per tile on the same tiling', () => {
    expect(getProfile('gpt-5').tokensFor(1024, 1024)).toBe(70 + 4 * 140);
    expect(getProfile('gpt-5').tokensFor(2048, 4096)).toBe(70 + 6 * 140);
  });

  it('OpenAI forum billing (2049x513 = 1453, 2050x513 = 773): sizes round to the nearest pixel', () => {
    const gpt41 = getProfile('gpt-4.1');
    expect(gpt41.tokensFor(2049, 513) - gpt41.tokensFor(2050, 513)).toBe(1453 - 773);
  });
});

describe('Claude (Vision docs: ceil(w/28) x ceil(h/28), resize to the native resolution)', () => {
  it('docs table, most models: 200x200 = 64, 1000x1000 = 1296, 1092x1092 = 1521', () => {
    const claude = getProfile('claude');
    expect(claude.tokensFor(200, 200)).toBe(64);
    expect(claude.tokensFor(1000, 1000)).toBe(1296);
    expect(claude.tokensFor(1092, 1092)).toBe(1521);
  });

  it('docs table, most models: larger images are downscaled first and capped near 1568 tokens', () => {
    const claude = getProfile('claude');
    expect(claude.effectiveSize(1920, 1080)).toEqual({ width: 1456, height: 819 });
    expect(claude.tokensFor(1920, 1080)).toBe(1560);
    expect(claude.effectiveSize(2000, 1500)).toEqual({ width: 1270, height: 952 });
    expect(claude.tokensFor(2000, 1500)).toBe(1564);
    expect(claude.effectiveSize(3840, 2160)).toEqual({ width: 1456, height: 819 });
    expect(claude.tokensFor(3840, 2160)).toBe(1560);
  });

  it('docs resize rule: an A4 page at 130 DPI (1075x1520, 2145 tokens) is resized to 924x1307', () => {
    expect(getProfile('claude').effectiveSize(1075, 1520)).toEqual({ width: 924, height: 1307 });
    expect(getProfile('claude:high-res').tokensFor(1075, 1520)).toBe(39 * 55);
  });

  it('docs table, Claude Opus 4.7 and later: 1920x1080 = 2691, 2000x1500 = 3888, 3840x2160 = 4784', () => {
    const claude = getProfile('claude:high-res');
    expect(claude.tokensFor(1920, 1080)).toBe(2691);
    expect(claude.tokensFor(2000, 1500)).toBe(3888);
    expect(claude.tokensFor(3840, 2160)).toBe(4784);
    expect(claude.effectiveSize(3840, 2160)).toEqual({ width: 2576, height: 1449 });
  });
});

describe('Gemini (Gemini API token docs; Gemini and Vertex AI image tokenization docs)', () => {
  const gemini = () => getProfile('gemini');

  it('token docs: images with both sides <= 384 px cost 258 tokens', () => {
    expect(gemini().tokensFor(384, 384)).toBe(258);
    expect(gemini().tokensFor(100, 300)).toBe(258);
  });

  it('image docs: larger images are cut into crops of min(w,h)/1.5 (256..768 px), 258 tokens each', () => {
    expect(gemini().tokensFor(385, 385)).toBe(4 * 258); // crop 256.7 px: 2x2
    expect(gemini().tokensFor(1000, 500)).toBe(6 * 258); // crop 333.3 px: 3x2
    expect(gemini().tokensFor(1536, 1536)).toBe(4 * 258); // crop 1024 -> 768 px: 2x2
    expect(gemini().tokensFor(1200, 2400)).toBe(8 * 258); // crop 800 -> 768 px: 2x4
    expect(gemini().tokensFor(2304, 3072)).toBe(12 * 258); // crop 768 px: 3x4
  });

  it('Vertex AI image requirements: images are scaled down to fit 3072x3072 first', () => {
    expect(gemini().effectiveSize(6000, 4000)).toEqual({ width: 3072, height: 2048 });
    expect(gemini().tokensFor(6000, 4000)).toBe(12 * 258); // crop 768 px: 4x3
  });
});
