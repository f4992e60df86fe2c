import { createRequire as __opsCreateRequire } from 'node:module';
import { fileURLToPath as __opsFileURLToPath } from 'node:url';
const require = __opsCreateRequire(import.meta.url);
const __opsBundleFilename = __opsFileURLToPath(import.meta.url);
const __opsBundleDirname = __opsFileURLToPath(new URL('.', import.meta.url));
const __opsRepoRootUrl = new URL('../../../', import.meta.url);
import{e as s,f as u,g as m}from"./chunk-AKSMQWJV.js";import{a as e}from"./chunk-NZKFM5E4.js";async function f(t,a,o,p){t.info(`ops ${o.join(" ")}`);let n=await u(a,o,i=>t.info(i),i=>t.setSecret(i)),r=n.out.trim().split(`
`).pop()??"";t.setOutput("summary",r),t.setOutput("exit-code",n.code);let d=n.out.trim()||"_(no output)_";try{await t.writeSummary(s(`## ${p}

${d}
`))}catch(i){t.warning(`job summary not written: ${i.message}`)}return n.code!==0&&t.setFailed(`ops ${o[0]} exited ${n.code}: ${m(n.err)||r}`),n.code}e(f,"runCommand");export{f as a};
