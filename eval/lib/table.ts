/** The tables benchmarks print; they live with the library, which tabulates calibration runs too. */
export * from '../../src/internal/table.js';
