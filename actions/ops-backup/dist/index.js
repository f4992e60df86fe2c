import { createRequire as __opsCreateRequire } from 'node:module';
import { fileURLToPath as __opsFileURLToPath } from 'node:url';
const require = __opsCreateRequire(import.meta.url);
const __opsBundleFilename = __opsFileURLToPath(import.meta.url);
const __opsBundleDirname = __opsFileURLToPath(new URL('.', import.meta.url));
const __opsRepoRootUrl = new URL('../../../', import.meta.url);
import{a as m}from"../../shared/dist/chunk-UY462NYC.js";import{a as i,b as c,f as s,g as a,l as p,n as u}from"../../shared/dist/chunk-MLXXSSZC.js";import"../../shared/dist/chunk-R6N7MHOT.js";import{a as t}from"../../shared/dist/chunk-NZKFM5E4.js";function d(r){return["backup","--env",r]}t(d,"backupArgv");async function f(r){let{core:o}=r;u(o,r.env);let n;try{let e=new p(o);n=e.name("environment"),e.done()}catch(e){o.setFailed(e.message);return}await m(o,r.runCli,d(n),`Backup (${n})`)}t(f,"runBackupAction");try{await f({core:a(c),runCli:s,env:process.env})}catch(r){i(`ops-backup: ${r.message}`)}process.exit();
