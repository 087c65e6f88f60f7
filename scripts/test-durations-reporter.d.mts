// Types for scripts/test-durations-reporter.mjs (tests import it).
export interface TestEvent {
  type: string;
  data: {
    name: string;
    file?: string;
    nesting: number;
    details: { passed?: boolean; error?: unknown; duration_ms: number };
  };
}

export default function testDurations(source: AsyncIterable<TestEvent>): AsyncGenerator<string>;
