// gemma2: LLM + merge parity against every reference dump of reference/fixtures/dumps/gemma2 (see parity-suite.ts).
import { paritySuite } from './parity-suite.js';

paritySuite('gemma2');
