// Command-line options of the bench scripts: `opt('--name', default)` is the value after
// --name, `args` the raw list (for flags: args.includes('--quick')).
export const args = process.argv.slice(2);
export const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
