// Preloaded into each `ovis` process the cli target spawns (node --import): on exit, writes the
// process's peak RSS in kB (process.resourceUsage().maxRSS, worker threads included) to the file
// named by OVIS_FUZZ_RSS_FILE. Changes nothing else.
import { writeFileSync } from 'node:fs';

const file = process.env.OVIS_FUZZ_RSS_FILE;
if (file)
  process.on('exit', () => {
    try {
      writeFileSync(file, String(process.resourceUsage().maxRSS));
    } catch {
      /* best effort */
    }
  });
