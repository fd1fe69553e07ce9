// The headless Chromium the browser tests and bench:browser drive (Debian's `chromium`, via
// playwright-core; CHROMIUM_PATH overrides the path): where it is, and the flags that keep it
// quiet and local — no GPU, no sandbox (containers), no QUIC, no background traffic.

import { existsSync } from 'node:fs';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const HAVE_CHROMIUM = existsSync(CHROMIUM);
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
