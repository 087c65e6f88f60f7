// Lives in scripts/ so benchmarks can use it without depending on tests.
export * from "../../scripts/webhook-receiver.js";
