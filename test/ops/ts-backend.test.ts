// The readable `ts` backend against the float64 references, held to the tight (f64
// accumulation) bounds its doc comments promise.
import { backendSuite } from './backend-suite.js';
import { TsBackend } from '../../src/backend/ts.js';

backendSuite('ts', () => new TsBackend(), { accum: 'f64' });
