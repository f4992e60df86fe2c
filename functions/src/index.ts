/**
 * The Functions app's entry: package.json `main` names its bundle (dist/index.js). Importing an
 * adapter registers its function with the host, so every one of src/functions/ is imported here.
 */
import './functions/alerts_timer.js';
import './functions/archive_timer.js';
import './functions/health.js';
import './functions/mqtt_ingest.js';
import './functions/uptime_probe.js';
import { processSettings, settingsError } from './settings.js';

// Every problem of every section, once, where the deployment shows it; each function still runs
// when its own sections are valid.
const problems = settingsError(processSettings());
if (problems) console.error(JSON.stringify({ msg: 'settings invalid', error: problems.message }));
