// llama: LLM + merge parity against every reference dump of reference/fixtures/dumps/llama (see parity-suite.ts).
import { paritySuite } from './parity-suite.js';

paritySuite('llama');
