/** The tool version, reported by --version, in JSON output and in SARIF. Kept in step with package.json by a test. */
export const VERSION = '0.1.0';
