/** This program's version, recorded in manifests as tool_version. */
export const VERSION = "0.5.0";
