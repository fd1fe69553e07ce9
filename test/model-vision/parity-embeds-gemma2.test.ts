// vte.embeds parity for the gemma2 image cases (see parity-embeds-suite.ts).
import { embedsParity } from './parity-embeds-suite.js';

embedsParity('gemma2');
