/** The PNG charts benchmarks write; they live with the library, which charts calibration runs too. */
export * from '../../src/internal/chart.js';
