import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, afterEach, describe, expect, it, vi } from 'vitest';
import { renderBarChart, renderLineChart, writeChart, type LineChartOptions } from '../eval/lib/chart.js';
import {
  availableDatasets,
  dataDir,
  loadDataset,
  loadKdConv,
  loadLoCoMo,
  loadMemoryBank,
  loadMtBench,
  loadOasst,
  DATASET_FILES,
  type DatasetName,
} from '../eval/lib/datasets.js';
import { displayWidth, formatNumber, formatPercent, markdownTable, printTable, textTable } from '../eval/lib/table.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function pngSize(png: Uint8Array): { width: number; height: number } {
  expect(Array.from(png.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  expect(new TextDecoder().decode(png.subarray(12, 16))).toBe('IHDR');
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/** How many pixels are (nearly) the given colour. */
async function countColour(png: Uint8Array, hex: string): Promise<number> {
  const { loadImage, createCanvas } = await import('@napi-rs/canvas');
  const img = await loadImage(Buffer.from(png));
  const ctx = createCanvas(img.width, img.height).getContext('2d');
  ctx.drawImage(img, 0, 0);
  const data = ctx.getImageData(0, 0, img.width, img.height).data;
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  let n = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (Math.abs(data[i]! - r!) < 8 && Math.abs(data[i + 1]! - g!) < 8 && Math.abs(data[i + 2]! - b!) < 8) n++;
  }
  return n;
}

const lineOptions: LineChartOptions = {
  title: 'Fidelity vs compression',
  xLabel: 'compression ratio',
  yLabel: 'accuracy',
  width: 640,
  height: 400,
  logX: true,
  yDomain: [0, 1],
  series: [
    { name: 'English', points: [2, 5, 10, 20].map((x) => ({ x, y: 1 - x / 50 })) },
    { name: 'Code', style: 'dashed', points: [2, 5, 10, 20].map((x) => ({ x, y: 0.95 - x / 40 })) },
    { name: 'published', style: 'points', points: [{ x: 10, y: 0.97, label: '97% @ 10x' }] },
  ],
};

describe('charts', () => {
  it('renders a line chart as a PNG of the requested size, identically every time', async () => {
    const first = await renderLineChart(lineOptions);
    const second = await renderLineChart(lineOptions);
    expect(pngSize(first)).toEqual({ width: 640, height: 400 });
    expect(Buffer.compare(Buffer.from(first), Buffer.from(second))).toBe(0);
  });

  it('draws the data: series colours appear and different data gives different bytes', async () => {
    const png = await renderLineChart(lineOptions);
    expect(await countColour(png, '#0072B2')).toBeGreaterThan(200);
    expect(await countColour(png, '#D55E00')).toBeGreaterThan(100);
    const changed = await renderLineChart({
      ...lineOptions,
      series: [{ name: 'English', points: [2, 5, 10, 20].map((x) => ({ x, y: 0.5 })) }],
    });
    expect(Buffer.compare(Buffer.from(png), Buffer.from(changed))).not.toBe(0);
    expect(await countColour(changed, '#D55E00')).toBe(0);
  });

  it('uses the default size and copes with empty series and non-positive x on a log axis', async () => {
    const png = await renderLineChart({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      logX: true,
      series: [{ name: 'empty', points: [] }, { name: 'zero', points: [{ x: 0, y: 1 }, { x: 4, y: 2 }] }],
    });
    expect(pngSize(png)).toEqual({ width: 900, height: 560 });
  });

  it('rejects impossible domains and sizes', async () => {
    await expect(renderLineChart({ ...lineOptions, yDomain: [1, 1] })).rejects.toThrow(/domain/);
    await expect(renderLineChart({ ...lineOptions, xDomain: [0, 10] })).rejects.toThrow(/domain/);
    await expect(renderLineChart({ ...lineOptions, width: 10.5 })).rejects.toThrow(/size/);
  });

  it('renders grouped bars deterministically and checks the value counts', async () => {
    const options = {
      title: 'QA accuracy',
      yLabel: 'accuracy',
      categories: ['LoCoMo', 'MemoryBank', 'a category name long enough to be slanted'],
      series: [
        { name: 'full text', values: [0.7, 0.8, 0.5] },
        { name: 'optical', values: [0.65, null, 0.4] },
      ],
      width: 700,
      height: 420,
      valueLabels: true,
    };
    const first = await renderBarChart(options);
    expect(pngSize(first)).toEqual({ width: 700, height: 420 });
    expect(Buffer.compare(Buffer.from(first), Buffer.from(await renderBarChart(options)))).toBe(0);
    expect(await countColour(first, '#D55E00')).toBeGreaterThan(1000);
    await expect(renderBarChart({ ...options, series: [{ name: 'short', values: [1] }] })).rejects.toThrow(/1 values for 3 categories/);
  });

  it('writes a chart into a folder it creates', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'opticmem-chart-'));
    try {
      const png = await renderLineChart(lineOptions);
      const path = join(dir, 'nested', 'chart.png');
      await writeChart(path, png);
      expect(new Uint8Array(await readFile(path))).toEqual(png);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('tables', () => {
  it('formats a Markdown table with padded, aligned columns', () => {
    const table = markdownTable(['dataset', 'turns', 'accuracy'], [
      ['LoCoMo', 4124, formatPercent(0.7312)],
      ['OASST', 225, null],
    ]);
    expect(table).toBe(
      [
        '| dataset | turns | accuracy |',
        '| :------ | ----: | -------: |',
        '| LoCoMo  | 4,124 |    73.1% |',
        '| OASST   |   225 |        — |',
      ].join('\n'),
    );
  });

  it('honours explicit alignment and escapes pipes and newlines', () => {
    const table = markdownTable(['a', 'b'], [['x|y', 'one\ntwo']], { align: ['center', 'right'] });
    expect(table.split('\n')).toEqual(['|  a   |          b |', '| :--: | ---------: |', '| x\\|y | one<br>two |']);
  });

  it('rejects rows with the wrong number of cells', () => {
    expect(() => markdownTable(['a', 'b'], [['only one']])).toThrow(/row 0 has 1 cells for 2 columns/);
  });

  it('formats numbers and percentages the same on every machine', () => {
    expect(formatNumber(1234.5678)).toBe('1,234.57');
    expect(formatNumber(42)).toBe('42');
    expect(formatNumber(0.5, { digits: 3 })).toBe('0.500');
    expect(formatNumber(12_345, { compact: true })).toBe('12.3k');
    expect(formatNumber(-1_500_000, { compact: true })).toBe('-1.5M');
    expect(formatNumber(Number.NaN)).toBe('—');
    expect(formatNumber(undefined)).toBe('—');
    expect(formatPercent(0.973)).toBe('97.3%');
    expect(formatPercent(1, 0)).toBe('100%');
    expect(formatPercent(null)).toBe('—');
  });

  it('lines up a console table by display width, counting CJK characters as two cells', () => {
    const text = textTable(['name', 'n'], [['记忆库', 3], ['LoCoMo', 12]]);
    const lines = text.split('\n');
    expect(lines).toHaveLength(6);
    expect(new Set(lines.map(displayWidth)).size).toBe(1);
    expect(lines[3]).toBe('│ 记忆库 │  3 │');
    let printed = '';
    printTable(['name', 'n'], [['记忆库', 3], ['LoCoMo', 12]], { write: (s) => (printed += s) });
    expect(printed).toBe(text + '\n');
  });
});

// ---------------------------------------------------------------- datasets

const locomo = [
  {
    sample_id: 'conv-t1',
    conversation: {
      speaker_a: 'Ana',
      speaker_b: 'Ben',
      // Keys out of order on purpose: sessions must come back in numeric order.
      session_10_date_time: '9:00 am on 3 June, 2023',
      session_10: [{ speaker: 'Ben', dia_id: 'D10:1', text: 'Much later.' }],
      session_2_date_time: '1:00 pm on 2 June, 2023',
      session_2: [{ speaker: 'Ben', dia_id: 'D2:1', text: 'Back again.', img_url: ['x'], blip_caption: 'a photo of a cat' }],
      session_1_date_time: '8:00 pm on 1 June, 2023',
      session_1: [
        { speaker: 'Ana', dia_id: 'D1:1', text: 'Hi Ben!' },
        { speaker: 'Ben', dia_id: 'D1:2', text: 'Hi Ana.' },
      ],
    },
    qa: [
      { question: 'When?', answer: 2022, evidence: ['D1:1'], category: 2 },
      { question: 'What pet?', evidence: ['D:2:1', 'D1:2; D10:1', 'D'], category: 5, adversarial_answer: 'a dog' },
    ],
    event_summary: {},
  },
];

const oasstTree = {
  message_tree_id: 'tree-1',
  tree_state: 'ready_for_export',
  prompt: {
    message_id: 'p1',
    text: 'How do I boil an egg?',
    role: 'prompter',
    lang: 'en',
    replies: [
      { message_id: 'a-second', text: 'Second best.', role: 'assistant', rank: 1, replies: [] },
      { message_id: 'a-deleted', text: 'Deleted.', role: 'assistant', rank: 0, deleted: true, replies: [] },
      {
        message_id: 'a-best',
        text: 'Best answer.',
        role: 'assistant',
        rank: 0,
        deleted: false,
        replies: [
          { message_id: 'p2-first', text: 'Thanks! And soft-boiled?', role: 'prompter', replies: [] },
          { message_id: 'p2-other', text: 'Other follow-up.', role: 'prompter', replies: [] },
        ],
      },
    ],
  },
};

const kdconv = [
  { messages: [{ message: '你好' }, { message: '你好呀', attrs: [{ attrname: '地址', attrvalue: '北京', name: '故宫' }] }], name: '故宫' },
  { name: 'broken record without messages' },
  { messages: [{ message: '第三个' }], name: '长城' },
];

const memoryBank = (first: string, second: string) => ({
  Jason: {
    name: ' Jason ',
    summary: {},
    personality: {},
    overall_history: '',
    history: {
      '2023-04-28': [{ query: second, response: 'r2' }],
      '2023-04-27': [{ query: first, response: 'r1' }],
    },
    meta_information: {},
  },
});

const mtbench = [
  { question_id: 81, category: 'writing', turns: ['Write a poem.', 'Now shorten it.'] },
  { question_id: 82, category: 'math', turns: ['What is 2+2?', 'And 3+3?'], reference: ['4', '6'] },
];

async function writeAll(dir: string): Promise<void> {
  const files: Record<string, string> = {
    [DATASET_FILES.locomo]: JSON.stringify(locomo),
    [DATASET_FILES.oasst]: JSON.stringify(oasstTree) + '\n',
    [DATASET_FILES.kdconv]: JSON.stringify(kdconv),
    [DATASET_FILES['memorybank-en']]: JSON.stringify(memoryBank('Hello', 'I went hiking.')),
    [DATASET_FILES['memorybank-cn']]: JSON.stringify(memoryBank('你好', '我去爬山了。')),
    'memorybank-probing-en.jsonl': JSON.stringify({ Jason: ['Where did I go on April 28th?'] }) + '\n' + JSON.stringify({ Leo: ['?'] }) + '\n',
    [DATASET_FILES.mtbench]: mtbench.map((q) => JSON.stringify(q)).join('\n') + '\n\n',
  };
  for (const [name, body] of Object.entries(files)) await writeFile(join(dir, name), body);
}

describe('datasets', () => {
  let dir: string;
  let missing: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'opticmem-data-'));
    missing = join(dir, 'no-such-folder');
    await writeAll(dir);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('finds the data beside the repository unless OPTICMEM_DATA_DIR says otherwise', () => {
    expect(dataDir({})).toBe(resolve(repoRoot, '..', 'shared', 'data'));
    expect(dataDir({ OPTICMEM_DATA_DIR: dir })).toBe(resolve(dir));
  });

  it('reports which files exist', () => {
    expect(availableDatasets(dir).sort()).toEqual(Object.keys(DATASET_FILES).sort());
    expect(availableDatasets(missing)).toEqual([]);
  });

  it('loads LoCoMo sessions in order with speakers as alternating roles, times and cleaned evidence', async () => {
    const [conv, ...rest] = await loadLoCoMo({ dir });
    expect(rest).toEqual([]);
    expect(conv).toMatchObject({ id: 'conv-t1', source: 'locomo', lang: 'en' });
    expect(conv!.turns).toEqual([
      { id: 'D1:1', role: 'user', speaker: 'Ana', content: 'Hi Ben!', time: '8:00 pm on 1 June, 2023' },
      { id: 'D1:2', role: 'assistant', speaker: 'Ben', content: 'Hi Ana.', time: '8:00 pm on 1 June, 2023' },
      {
        id: 'D2:1',
        role: 'assistant',
        speaker: 'Ben',
        content: 'Back again. [shared image: a photo of a cat]',
        time: '1:00 pm on 2 June, 2023',
      },
      { id: 'D10:1', role: 'assistant', speaker: 'Ben', content: 'Much later.', time: '9:00 am on 3 June, 2023' },
    ]);
    expect(conv!.qa).toEqual([
      { question: 'When?', answer: '2022', evidence: ['D1:1'], category: 2 },
      { question: 'What pet?', adversarialAnswer: 'a dog', evidence: ['D2:1', 'D1:2', 'D10:1'], category: 5 },
    ]);
  });

  it('follows the best-ranked, not deleted reply path through an OASST tree', async () => {
    const [conv] = await loadOasst({ dir });
    expect(conv).toMatchObject({ id: 'tree-1', source: 'oasst', lang: 'en' });
    expect(conv!.turns).toEqual([
      { id: 'p1', role: 'user', content: 'How do I boil an egg?' },
      { id: 'a-best', role: 'assistant', content: 'Best answer.' },
      { id: 'p2-first', role: 'user', content: 'Thanks! And soft-boiled?' },
    ]);
  });

  it('takes every live message of an OASST tree once, depth first, when asked for all replies', async () => {
    const [conv] = await loadOasst({ dir, oasstReplies: 'all' });
    expect(conv!.turns.map((t) => t.id)).toEqual(['p1', 'a-second', 'a-best', 'p2-first', 'p2-other']);
  });

  it('loads KdConv as Chinese, skipping malformed dialogues but keeping source indices in ids', async () => {
    const convs = await loadKdConv({ dir });
    expect(convs.map((c) => c.id)).toEqual(['kdconv-travel-0', 'kdconv-travel-2']);
    expect(convs[0]).toEqual({
      id: 'kdconv-travel-0',
      source: 'kdconv',
      lang: 'zh',
      turns: [
        { role: 'user', content: '你好' },
        { role: 'assistant', content: '你好呀' },
      ],
      meta: { topic: '故宫' },
    });
  });

  it('loads MemoryBank days in date order with probing questions attached by trimmed name', async () => {
    const [en] = await loadMemoryBank('en', { dir });
    expect(en).toMatchObject({ id: 'memorybank-en-Jason', source: 'memorybank-en', lang: 'en', meta: { user: 'Jason' } });
    expect(en!.turns).toEqual([
      { role: 'user', speaker: 'Jason', content: 'Hello', time: '2023-04-27' },
      { role: 'assistant', content: 'r1', time: '2023-04-27' },
      { role: 'user', speaker: 'Jason', content: 'I went hiking.', time: '2023-04-28' },
      { role: 'assistant', content: 'r2', time: '2023-04-28' },
    ]);
    expect(en!.qa).toEqual([{ question: 'Where did I go on April 28th?', evidence: [] }]);

    const [zh] = await loadMemoryBank('zh', { dir });
    expect(zh).toMatchObject({ id: 'memorybank-cn-Jason', source: 'memorybank-cn', lang: 'zh' });
    expect(zh!.turns[2]!.content).toBe('我去爬山了。');
    expect(zh!.qa).toBeUndefined(); // no Chinese probing file in this folder
  });

  it('loads MT-Bench prompts as user-only conversations', async () => {
    const convs = await loadMtBench({ dir });
    expect(convs).toEqual([
      {
        id: 'mtbench-81',
        source: 'mtbench',
        lang: 'en',
        turns: [
          { role: 'user', content: 'Write a poem.' },
          { role: 'user', content: 'Now shorten it.' },
        ],
        meta: { category: 'writing' },
      },
      expect.objectContaining({ id: 'mtbench-82', meta: { category: 'math' } }),
    ]);
    expect(await loadMtBench({ dir, limit: 1 })).toHaveLength(1);
  });

  it('returns [] for every dataset when the folder is missing', async () => {
    for (const name of Object.keys(DATASET_FILES) as DatasetName[]) {
      expect(await loadDataset(name, { dir: missing })).toEqual([]);
    }
  });

  it('reads from OPTICMEM_DATA_DIR when no folder is given', async () => {
    vi.stubEnv('OPTICMEM_DATA_DIR', dir);
    expect((await loadDataset('mtbench')).map((c) => c.id)).toEqual(['mtbench-81', 'mtbench-82']);
    vi.stubEnv('OPTICMEM_DATA_DIR', missing);
    expect(await loadDataset('locomo')).toEqual([]);
  });

  it('throws on files that are present but not in the expected format', async () => {
    const bad = await mkdtemp(join(tmpdir(), 'opticmem-bad-data-'));
    try {
      await writeFile(join(bad, DATASET_FILES.locomo), '{ not json');
      await expect(loadLoCoMo({ dir: bad })).rejects.toThrow(/locomo-dev\.json: not valid JSON/);
      await writeFile(join(bad, DATASET_FILES.kdconv), JSON.stringify({ messages: [] }));
      await expect(loadKdConv({ dir: bad })).rejects.toThrow(/expected a JSON array/);
      await writeFile(join(bad, DATASET_FILES.mtbench), JSON.stringify({ id: 1, prompt: 'renamed fields' }));
      await expect(loadMtBench({ dir: bad })).rejects.toThrow(/no record has the expected shape/);
    } finally {
      await rm(bad, { recursive: true, force: true });
    }
  });
});

describe('fixtures', () => {
  const load = async (name: string) =>
    JSON.parse(await readFile(join(repoRoot, 'test', 'fixtures', name), 'utf8')) as { role: string; content: string }[];

  it.each([
    ['conversation-en.json', 14],
    ['conversation-zh.json', 12],
    ['code-sample.json', 6],
  ])('%s is an alternating user/assistant chat of %i turns', async (name, turns) => {
    const chat = await load(name);
    expect(chat).toHaveLength(turns);
    chat.forEach((m, i) => {
      expect(m.role).toBe(i % 2 === 0 ? 'user' : 'assistant');
      expect(m.content.trim().length).toBeGreaterThan(0);
    });
  });
});
