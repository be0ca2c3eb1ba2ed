// The command-line options of the bench scripts.

/** The value after `--<name>` on the command line, or `fallback` when the option is not given. */
export function option(name, fallback) {
	const index = process.argv.indexOf(`--${name}`);
	return index === -1 ? fallback : process.argv[index + 1];
}
