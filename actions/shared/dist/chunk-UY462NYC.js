import { createRequire as __opsCreateRequire } from 'node:module';
import { fileURLToPath as __opsFileURLToPath } from 'node:url';
const require = __opsCreateRequire(import.meta.url);
const __opsBundleFilename = __opsFileURLToPath(import.meta.url);
const __opsBundleDirname = __opsFileURLToPath(new URL('.', import.meta.url));
const __opsRepoRootUrl = new URL('../../../', import.meta.url);
import{h as u,i as m,j as p}from"./chunk-MLXXSSZC.js";import{a as e}from"./chunk-NZKFM5E4.js";async function f(t,a,o,r){t.info(`ops ${o.join(" ")}`);let n=await m(a,o,i=>t.info(i),i=>t.setSecret(i)),s=n.out.trim().split(`
`).pop()??"";t.setOutput("summary",s),t.setOutput("exit-code",n.code);let y=n.out.trim()||"_(no output)_";try{let i=typeof r=="string"?r:r(s);await t.writeSummary(u(`## ${i}

${y}
`))}catch(i){t.warning(`job summary not written: ${i.message}`)}return n.code!==0&&t.setFailed(`ops ${o[0]} exited ${n.code}: ${p(n.err)||s}`),n.code}e(f,"runCommand");export{f as a};
