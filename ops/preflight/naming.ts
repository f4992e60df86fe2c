/**
 * Preflight item "names": every Azure resource name of the environment YAML (the `azure` section's
 * and `infra.names`, the IoT Hub's when there is one) matches the naming convention written next to
 * them, `infra.naming`: one pattern per kind of resource. One line when all do; otherwise one line
 * per name that does not, saying which pattern it fails.
 */
import type { EnvironmentConfig } from '../config/environment-config.js';
import type { PreflightItem } from './items.js';

type Kind = keyof NonNullable<EnvironmentConfig['infra']>['naming'];

/** Which pattern judges which name, by its YAML path. */
export function namedResources(config: EnvironmentConfig): { path: string; name: string; kind: Kind }[] {
  const a = config.azure;
  const infra = config.infra;
  const out: { path: string; name: string; kind: Kind }[] = [];
  if (a)
    out.push(
      { path: 'azure.resourceGroup', name: a.resourceGroup, kind: 'resourceGroup' },
      { path: 'azure.vmName', name: a.vmName, kind: 'virtualMachine' },
      { path: 'azure.functionApp', name: a.functionApp, kind: 'functionApp' },
      { path: 'azure.budgetName', name: a.budgetName, kind: 'other' },
    );
  if (infra) {
    for (const [key, name] of Object.entries(infra.names))
      out.push({
        path: `infra.names.${key}`,
        name,
        kind: key === 'functionStorage' || key === 'dataStorage' ? 'storageAccount' : 'other',
      });
    if (infra.iotHub) out.push({ path: 'infra.iotHub.name', name: infra.iotHub.name, kind: 'other' });
  }
  return out;
}

export function namingItems(config: EnvironmentConfig, source: string): PreflightItem[] {
  if (config.sandbox)
    return [{ item: 'names', status: 'skip', detail: 'the sandbox names no Azure resources' }];
  const naming = config.infra?.naming;
  if (!naming)
    return [
      {
        item: 'names',
        status: 'skip',
        detail: `no infra.naming in ${source}: no naming convention to check the names against`,
      },
    ];
  const named = namedResources(config);
  const bad = named.filter((n) => !new RegExp(naming[n.kind]).test(n.name));
  if (!bad.length)
    return [
      {
        item: 'names',
        status: 'ok',
        detail: `all ${named.length} resource names follow infra.naming (${named.map((n) => n.name).join(', ')})`,
      },
    ];
  return bad.map((n) => ({
    item: `name ${n.path}`,
    status: 'fail',
    detail:
      `"${n.name}" does not match infra.naming.${n.kind} (${naming[n.kind]}): rename it in ${source}, ` +
      'or, for a resource that exists already under that name, widen the pattern',
  }));
}
