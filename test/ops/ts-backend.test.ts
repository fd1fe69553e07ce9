// The readable `ts` backend against the float64 references, held to the tight (f64
// accumulation) bounds its doc comments promise.

import { TsBackend } from '../../src/backend/ts.js';
import { backendSuite } from './backend-suite.js';

backendSuite('ts', () => new TsBackend(), { accum: 'f64' });
