/** The package version, sent in the user-agent header (a test keeps it equal to package.json). */
export const VERSION = "0.1.0";
