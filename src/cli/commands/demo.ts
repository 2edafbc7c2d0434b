/**
 * `opticmem demo`: a shipped conversation goes in, pages come out at the lossless (10x) and
 * forgetting (20x) tiers, each page is decoded back on the CPU, and a table compares them.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { decode, encode } from '../../codec/codec.js';
import { fidelity } from '../../codec/fidelity.js';
import { createOnnxDecoder } from '../../decoders/onnx/index.js';
import { packageRoot } from '../../internal/package-root.js';
import { parseChat } from '../read-chat.js';
import { pct, printJson, printTable, progressBar } from '../output.js';

export interface DemoOptions {
  out: string;
  profile: string;
  json?: boolean;
}

export const DEMO_CONVERSATION = 'examples/data/demo-conversation.json';

export async function demoCommand(options: DemoOptions): Promise<number> {
  const outDir = resolve(options.out);
  await mkdir(outDir, { recursive: true });
  const turns = parseChat(await readFile(join(packageRoot(), DEMO_CONVERSATION), 'utf8'));
  const decoder = createOnnxDecoder();
  const log = (s: string) => {
    if (!options.json) process.stdout.write(s + '\n');
  };
  log(`opticmem demo: ${turns.length} turns from ${DEMO_CONVERSATION}, profile ${options.profile}, pages in ${outDir}\n`);
  const rows: Record<string, string | number>[] = [];
  try {
    for (const [tier, ratio] of [['lossless', 10], ['forgetting', 20]] as const) {
      const pages = await encode(turns, { ratio, profile: options.profile });
      const bar = progressBar(`decode ${tier}`, pages.length, !options.json && process.stderr.isTTY === true);
      let decodedText = '';
      let sourceText = '';
      let decodeMs = 0;
      for (const [i, page] of pages.entries()) {
        const path = join(outDir, `${tier}-${ratio}x-page-${i + 1}.png`);
        await writeFile(path, page.png);
        const t0 = performance.now();
        const d = await decode(page.png, { decoder, geometry: page.geometry });
        decodeMs += performance.now() - t0;
        decodedText += d.text + '\n';
        sourceText += page.sourceText + '\n';
        bar.tick();
        log(`  ${path}  ${page.geometry.width}x${page.geometry.height}  ${page.textTokens} text tok -> ${page.visualTokens} visual tok (${page.ratio.toFixed(1)}x)`);
      }
      bar.stop();
      const textTokens = pages.reduce((a, p) => a + p.textTokens, 0);
      const visualTokens = pages.reduce((a, p) => a + p.visualTokens, 0);
      rows.push({
        tier,
        target: `${ratio}x`,
        pages: pages.length,
        textTokens,
        visualTokens,
        ratio: Number((textTokens / visualTokens).toFixed(2)),
        saved: Number((1 - visualTokens / textTokens).toFixed(4)),
        fidelity: Number(fidelity(decodedText, sourceText).toFixed(4)),
        decodeSeconds: Number((decodeMs / 1000).toFixed(2)),
      });
    }
  } finally {
    await decoder.close();
  }
  if (options.json) printJson({ outDir, rows });
  else {
    log('');
    printTable(
      ['tier', 'target', 'pages', 'text tok', 'visual tok', 'ratio', 'tokens saved', 'fidelity', 'decode s'],
      rows.map((r) => [r.tier!, r.target!, r.pages!, r.textTokens!, r.visualTokens!, `${r.ratio}x`, pct(r.saved as number), pct(r.fidelity as number, 2), r.decodeSeconds!]),
    );
  }
  return 0;
}
