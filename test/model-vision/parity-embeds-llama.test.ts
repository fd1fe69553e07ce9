// vte.embeds parity for the llama image cases (see parity-embeds-suite.ts).
import { embedsParity } from './parity-embeds-suite.js';

embedsParity('llama');
