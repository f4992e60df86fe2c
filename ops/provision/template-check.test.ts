import { loadEnvironmentConfig } from '../config/environment-config.js';
import { provisionParameters } from './parameters.js';
import { templateProblems } from './template-check.js';
import { composeTemplate, NESTED_DEPLOYMENT, type ArmTemplate } from './templates.js';

const prod = loadEnvironmentConfig('prod');
const parameters = () => provisionParameters(prod, { budgetStartDate: '2026-12-01' }).parameters;
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const inner = (t: ArmTemplate) =>
  (t.resources.find((r) => r.type === NESTED_DEPLOYMENT)!.properties as Json).template as ArmTemplate;

test('infra/ and the parameters built from prod.yaml fit: every reference declared, every value valid', () => {
  expect(templateProblems(composeTemplate(), parameters())).toEqual([]);
});

test('finds undeclared references, unknown and missing parameters, bad values, in the nested template too', () => {
  const t = composeTemplate();
  inner(t).resources[0]!.location = "[parameters('nowhere')]";
  inner(t).resources[1]!.name = "[variables('nothing')]";
  t.resources[0]!.location = "[concat('a' 'b')]";
  const p = parameters();
  delete p.budgetName;
  (p as Json).extra = 1;
  (p.resourceGroupParameters as Json).functionsPlan.value = 'premium';
  (p.resourceGroupParameters as Json).osDiskSizeGb.value = 8;
  (p.resourceGroupParameters as Json).archiveEnabled.value = 'no';
  expect(templateProblems(t, p, 'main')).toEqual([
    'main: parameter extra is given but not declared',
    'main: parameter budgetName has no value',
    expect.stringMatching(/^main at resources\[0\]\.location: "," or "\)" expected/),
    'main > infra/resources.json: parameter osDiskSizeGb: 8 < 30',
    'main > infra/resources.json: parameter functionsPlan: "premium" is not one of ["flex-consumption","linux-consumption"]',
    'main > infra/resources.json: parameter archiveEnabled: "no" is not of type bool',
    "main > infra/resources.json at resources[0].location: parameters('nowhere') is not declared",
    "main > infra/resources.json at resources[1].name: variables('nothing') is not declared",
  ]);
});

test('a nested deployment in Complete mode is refused: it would delete what the template omits', () => {
  const t = composeTemplate();
  (t.resources.find((r) => r.type === NESTED_DEPLOYMENT)!.properties as Json).mode = 'Complete';
  expect(templateProblems(t, parameters())).toContainEqual(
    expect.stringMatching(/nested deployment's mode must be Incremental \(got Complete\)/),
  );
});
