// The archive builder lives in scripts/ so benchmarks can use it without depending on tests.
export * from "../../scripts/tar-builder.js";
