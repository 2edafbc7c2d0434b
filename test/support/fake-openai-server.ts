/** The OpenAI-compatible test server lives with the benchmarks that also use it. */
export * from '../../eval/lib/fake-openai-server.js';
