/**
 * The `opticmem` command line. Exit codes: 0 success, 1 unexpected failure, 2 invalid input or
 * usage, 3 a model or decoder failed, 4 the store failed.
 */
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { OpticMemError } from '../errors.js';
import { packageVersion } from '../internal/package-root.js';
import { decodeCommand } from './commands/decode.js';
import { demoCommand } from './commands/demo.js';
import { BENCHMARKS, evalCommand } from './commands/eval.js';
import { exportCommand, importCommand } from './commands/export-import.js';
import { DEFAULT_INSPECTOR_PORT, inspectCommand, parsePort } from './commands/inspect.js';
import { ageCommand, compressCommand, recallCommand, statsCommand } from './commands/memory-commands.js';
import { renderCommand } from './commands/render.js';
import { DECODERS } from './decoder-flags.js';

export const EXIT = { ok: 0, failure: 1, usage: 2, model: 3, store: 4 } as const;

function positiveNumber(name: string) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number, got '${value}'.`);
    return n;
  };
}

/** A value that must not be empty: `--profile ''` would otherwise fall back to the default unseen. */
function nonEmpty(name: string, example: string) {
  return (value: string) => {
    if (value.trim() === '') throw new InvalidArgumentError(`${name} must not be empty; name one, e.g. ${example}.`);
    return value;
  };
}

export function exitCodeFor(error: unknown): number {
  if (OpticMemError.isInstance(error)) {
    if (error.code === 'invalid_input' || error.code === 'unknown_profile' || error.code === 'invalid_image' || error.code === 'missing_geometry') return EXIT.usage;
    // A page that cannot be drawn as asked (a ratio no canvas reaches) names the option to change.
    if (error.code === 'render_failed' && error.field !== undefined) return EXIT.usage;
    if (error.code === 'store_failed') return EXIT.store;
    if (error.code === 'model_load_failed' || error.code === 'decode_failed' || error.code === 'remote_failed') return EXIT.model;
  }
  return EXIT.failure;
}

/** --decoder and its settings, for commands that read pages. */
function decoderOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--decoder <d>', 'local: glyph matching, the OCR model for what it cannot explain; glyph or onnx: only that reader; openai: an OpenAI-compatible vision endpoint (key from OPENAI_API_KEY)')
        .choices(DECODERS)
        .default('local'),
    )
    .option('--base-url <url>', "endpoint root for --decoder openai, e.g. http://127.0.0.1:8000/v1 (vLLM); default OPENAI_BASE_URL, else OpenAI's API")
    .option('--model <name>', 'model for --decoder openai, e.g. deepseek-ai/DeepSeek-OCR or gpt-4o')
    .option('--prompt <p>', "prompt for --decoder openai: 'deepseek-ocr' (default), 'generic' (for GPT-4o, Qwen-VL) or the prompt text");
}

export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('opticmem')
    .description('Optical long-context memory for LLM agents: render old turns to images, store them, read them back.')
    .version(packageVersion())
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');

  const run = (fn: () => Promise<number>) => async () => setExit(await fn());

  program
    .command('demo')
    .description('The whole story offline: render a shipped conversation at 10x and 20x and read it back, store it, recall, build a context, age it.')
    .option('--out <dir>', 'folder for the page PNGs and the demo store', 'opticmem-demo')
    .addOption(new Option('--profile <name>', 'vision-token profile (Tiny keeps the demo under a minute)').argParser(nonEmpty('--profile', 'deepseek-ocr:tiny')).default('deepseek-ocr:tiny'))
    .option('--json', 'print JSON instead of a table')
    .action((opts) => run(() => demoCommand(opts))());

  program
    .command('render')
    .description('Render a conversation (JSON, JSON Lines or plain text; - for stdin) into page PNGs.')
    .argument('<file>', "chat file, or '-' for standard input")
    .requiredOption('--out <page.png>', 'output PNG (further pages get -2, -3, ... suffixes)')
    .addOption(new Option('--ratio <n>', 'target text tokens per visual token').argParser(positiveNumber('--ratio')).default(10))
    .addOption(new Option('--profile <name>', 'vision-token profile').argParser(nonEmpty('--profile', 'deepseek-ocr:base')).default('deepseek-ocr:base'))
    .addOption(new Option('--font <font>', 'base font').choices(['sans', 'mono', 'auto']).default('auto'))
    .option('--verify', 'decode each page and re-plan at a lower ratio until --min-fidelity holds')
    .addOption(new Option('--min-fidelity <f>', 'fidelity target for --verify').argParser(positiveNumber('--min-fidelity')))
    .option('--json', 'print JSON')
    .action((file, opts) => run(() => renderCommand(file, opts))());

  decoderOptions(
    program
      .command('decode')
      .description('Read a page PNG back into text with the local reader (glyph matching, the OCR model for the rest), or with a remote vision model (--decoder openai).')
      .argument('<page.png>', 'page image')
      .option('--no-geometry', 'ignore embedded line geometry and run text detection'),
  )
    .option('--json', 'print JSON with lines, confidences and timing')
    .action((file, opts) => run(() => decodeCommand(file, opts))());

  const scoped = (cmd: Command) =>
    cmd.option('--user <id>', 'user id of the scope').option('--agent <id>', 'agent id of the scope').option('--session <id>', 'session id of the scope');

  scoped(
    program
      .command('compress')
      .description('Store a chat log (JSON array or JSON Lines of {role, content}) and compact older turns into pages.')
      .argument('<chat>', "chat file, or '-' for standard input")
      .requiredOption('--db <dir>', 'store folder or LanceDB URI'),
  )
    .addOption(new Option('--profile <name>', 'vision-token profile for pages').argParser(nonEmpty('--profile', 'deepseek-ocr:base')).default('deepseek-ocr:base'))
    .addOption(new Option('--hot-budget <tokens>', 'text tokens kept as hot turns').argParser(positiveNumber('--hot-budget')))
    .option('--json', 'print JSON')
    .action((file, opts) => run(() => compressCommand(file, opts))());

  scoped(
    program
      .command('recall')
      .description('Search stored pages and print them decoded.')
      .argument('<query>', 'search text')
      .requiredOption('--db <dir>', 'store folder or LanceDB URI'),
  )
    .addOption(new Option('--k <n>', 'number of pages').argParser(positiveNumber('--k')).default(5))
    .option('--rehearse', 'count the hits as recalls that strengthen their pages (default: only look, change nothing)')
    .option('--json', 'print JSON')
    .addHelpText('after', "\nWith --user, the agent and session flags left out span: --user maya searches every agent and session of maya.\nWithout --user nothing spans ('*' as a value spans that part). Without --rehearse the store is left as it was.")
    .action((query, opts) => run(() => recallCommand(query, opts))());

  scoped(
    program
      .command('age')
      .description('Move pages down the forgetting ladder as of --now (default: the current time).')
      .requiredOption('--db <dir>', 'store folder or LanceDB URI'),
  )
    .option('--now <iso>', 'the time to age to, e.g. 2026-12-01T00:00:00Z')
    .addOption(new Option('--strategy <s>', 'how pages fade').choices(['downsample', 'rerender']).default('downsample'))
    .addOption(new Option('--curve <c>', "retention curve (default: the store's, else fsrs)").choices(['ebbinghaus', 'fsrs']))
    .addOption(new Option('--ladder <l>', "resolution ladder (default: the store's, else ratio)").choices(['ratio', 'deepseek-modes']))
    .option('--purge', 'drop faded pages without tombstones')
    .option('--json', 'print JSON')
    .action((opts) => run(() => ageCommand(opts))());

  program
    .command('stats')
    .description('Turns, pages, tokens and fidelity per scope.')
    .requiredOption('--db <dir>', 'store folder or LanceDB URI')
    .option('--json', 'print JSON')
    .action((opts) => run(() => statsCommand(opts))());

  program
    .command('inspect')
    .description('Serve a local web page to browse scopes, pages, decoded text, search and ladder history, until SIGINT/SIGTERM.')
    .requiredOption('--db <dir>', 'store folder or LanceDB URI')
    .addOption(new Option('--port <n>', 'port (0 picks a free one)').argParser(parsePort).default(DEFAULT_INSPECTOR_PORT))
    .option('--host <address>', 'address to listen on; anything but loopback exposes the memory to the network', '127.0.0.1')
    .option('--allow-write', 'enable pinning and deleting pages and scopes')
    .action((opts) => run(() => inspectCommand(opts))());

  scoped(
    program
      .command('export')
      .description('Write the turns and pages of a scope (default: the whole store) as one JSON document, PNGs in base64.')
      .requiredOption('--db <dir>', 'store folder or LanceDB URI'),
  )
    .option('--out <file.json>', 'write to this file instead of standard output')
    .option('--json', 'with --out, print the summary as JSON')
    .action((opts) => run(() => exportCommand(opts))());

  program
    .command('check')
    .description("Check a store's integrity: schema, every page's image and geometry, half-done compactions, turns on two pages, duplicate page rows; exit 4 when problems remain.")
    .requiredOption('--db <dir>', 'store folder or LanceDB URI')
    .option('--repair', 'finish half-done compactions and remove duplicate page rows (never a readable page or a turn no page holds)')
    .option('--json', 'print JSON')
    .action((opts) => run(async () => (await import('./commands/check.js')).checkCommand(opts))());

  program
    .command('import')
    .description("Load a document written by 'opticmem export'; rows already in the store are skipped.")
    .argument('<file>', "export file, or '-' for standard input")
    .requiredOption('--db <dir>', 'store folder or LanceDB URI')
    .option('--json', 'print JSON')
    .action((file, opts) => run(() => importCommand(file, opts))());

  decoderOptions(
    scoped(
      program
        .command('mcp')
        .description('Serve the store to MCP clients on stdio (tools: remember, recall, forget, stats) until stdin closes or SIGINT/SIGTERM.')
        .requiredOption('--db <dir>', 'store folder or LanceDB URI'),
    )
      .addOption(new Option('--profile <name>', 'vision-token profile for pages').argParser(nonEmpty('--profile', 'deepseek-ocr:base')).default('deepseek-ocr:base'))
      .addOption(new Option('--hot-budget <tokens>', 'text tokens kept as hot turns').argParser(positiveNumber('--hot-budget'))),
  )
    // Loaded on use: the other commands need not load the MCP SDK.
    .action((opts) => run(async () => (await import('./commands/mcp.js')).mcpCommand(opts))());

  decoderOptions(
    program
      .command('calibrate')
      .description("Measure a consuming model's legibility floor: draw held-out chat on the profile's canvas at a ladder of glyph sizes, have the model transcribe every page, and write a table, a chart and a legibility preset for Memory.open({ legibility }).")
      .addOption(new Option('--profile <name>', 'vision-token profile of the model being calibrated, e.g. gpt-4o').argParser(nonEmpty('--profile', 'gpt-4o')).makeOptionMandatory()),
  )
    .option('--out <dir>', 'folder for the state file (reruns resume), calibration.md/.json/.png and the preset legibility.json', 'opticmem-calibration')
    .option('--pages <n>', 'pages read at each glyph size (default 4)')
    .option('--sizes <list>', 'glyph sizes in px as the model sees them (default 5,6,7,8,9,10,11,12,13,14,16,18,20)')
    .option('--min-fidelity <f>', 'mean fidelity a size must reach, with every larger size, to be legible (default 0.95)')
    .option('--text <file>', "held-out chat text: .txt, JSON or JSON Lines ('-' for stdin); default the conversations the package ships")
    .option('--canvas <WxH>', "one of the profile's canvases (default: its largest of at most 1024x1024 pixels)")
    .option('--price-in <usd>', 'USD per 1M input tokens, for the cost estimate')
    .option('--price-out <usd>', 'USD per 1M output tokens, for the cost estimate')
    .option('--max-tokens <n>', 'estimated tokens a billed run may send without --yes (default 1000000)')
    .option('--needles', 'also plant a fact on every page and ask it back (one more request a page; --decoder openai)')
    .option('--yes', 'go ahead with a billed run whatever the estimate (needed when not at a terminal)')
    .option('--json', 'print JSON on stdout (the estimate and progress go to stderr)')
    // Loaded on use, like mcp: the other commands need not load the calibration code.
    .action((opts) => run(async () => (await import('./commands/calibrate.js')).calibrateCommand(opts))());

  program
    .command('eval')
    .description(
      'Run a benchmark: compression (fidelity vs ratio), memory (compaction, recall@k, context tokens, latency) or forgetting (ageing policies over simulated months). ' +
        'Data comes from OPTICMEM_DATA_DIR (default ../shared/data beside the package), else from the small conversations the package ships.',
    )
    .addArgument(new Argument('<benchmark>', 'which benchmark').choices(BENCHMARKS))
    .option('--quick', 'a small sample (forgetting --quick takes under a minute on two cores)')
    .option('--json', 'print the results as JSON on stdout (progress goes to stderr)')
    .option('--out <dir>', 'folder for the result files (Markdown, JSON, charts)', 'eval/results')
    .action((name, opts) => run(() => evalCommand(name, opts))());

  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram((c) => {
    code = c;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const message = OpticMemError.isInstance(error) ? `${error.name}: ${error.message}` : String((error as Error)?.stack ?? error);
    process.stderr.write(`opticmem: ${message}\n`);
    return exitCodeFor(error);
  }
}
