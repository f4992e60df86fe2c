/**
 * The commit this code was built from. The package build (functions/package-zip.ts) replaces the
 * identifier below with a string literal (esbuild `define`), so the SHA is part of the code that
 * runs and cannot drift from it; run from sources (sandbox, tests, benches) it is null.
 */
declare const __FUNCTIONS_COMMIT__: string | undefined;

export const BUILD_COMMIT: string | null =
  typeof __FUNCTIONS_COMMIT__ === 'string' ? __FUNCTIONS_COMMIT__ : null;
