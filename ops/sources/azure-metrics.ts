/**
 * The broker VM's platform metrics from Azure Monitor (@azure/arm-monitor `metrics.list`, one
 * request for all four metrics at a 1 h grain) and its size from Resource Manager
 * (@azure/arm-compute `virtualMachines.get`).
 */
import type { ComputeManagementClient } from '@azure/arm-compute';
import type { MonitorClient } from '@azure/arm-monitor';

export const VM_METRICS = [
  'Percentage CPU',
  'CPU Credits Remaining',
  'Available Memory Bytes',
  'Network Out Total',
] as const;
export type VmMetricName = (typeof VM_METRICS)[number];

export interface MetricPoint {
  at: Date;
  average?: number;
  minimum?: number;
  maximum?: number;
  total?: number;
}

export interface VmMetrics {
  /** The grain Azure answered with (ISO 8601, e.g. PT1H). */
  interval: string;
  /** Points per metric, oldest first; empty when Azure has none (CPU credits on a non-B VM). */
  series: Record<VmMetricName, MetricPoint[]>;
}

export interface VmInfo {
  name: string;
  size: string;
  location: string;
}

export interface VmMetricsSource {
  metrics(from: Date, to: Date, signal?: AbortSignal): Promise<VmMetrics>;
  vm(signal?: AbortSignal): Promise<VmInfo>;
}

export interface VmMetricsSourceOptions {
  subscriptionId: string;
  resourceGroup: string;
  vmName: string;
  /** ISO 8601 grain; default PT1H. */
  interval?: string;
}

export function vmResourceId(o: Pick<VmMetricsSourceOptions, 'subscriptionId' | 'resourceGroup' | 'vmName'>) {
  return `/subscriptions/${o.subscriptionId}/resourceGroups/${o.resourceGroup}/providers/Microsoft.Compute/virtualMachines/${o.vmName}`;
}

export function createVmMetricsSource(
  clients: { monitor: MonitorClient; compute: ComputeManagementClient },
  options: VmMetricsSourceOptions,
): VmMetricsSource {
  if (!/^[0-9a-f-]{36}$/i.test(options.subscriptionId))
    throw new Error('vm metrics: subscriptionId must be a GUID');
  if (!/^[\w.()-]{1,90}$/.test(options.resourceGroup)) throw new Error('vm metrics: bad resourceGroup');
  if (!/^[\w.-]{1,64}$/.test(options.vmName)) throw new Error('vm metrics: bad vmName');
  const interval = options.interval ?? 'PT1H';
  // The SDK's URL template is `/{+resourceUri}/...`: pass the id without its leading slash.
  const resourceUri = vmResourceId(options).slice(1);
  return {
    async metrics(from, to, signal) {
      const response = await clients.monitor.metrics.list(resourceUri, {
        timespan: `${from.toISOString()}/${to.toISOString()}`,
        interval,
        metricnames: VM_METRICS.join(','),
        aggregation: 'average,minimum,maximum,total',
        metricnamespace: 'Microsoft.Compute/virtualMachines',
        abortSignal: signal,
      });
      const series = Object.fromEntries(
        VM_METRICS.map((m) => [m, [] as MetricPoint[]]),
      ) as VmMetrics['series'];
      for (const metric of response.value) {
        const name = VM_METRICS.find((m) => m === metric.name.value);
        if (!name) continue;
        if (metric.errorCode && metric.errorCode !== 'Success')
          throw new Error(`Azure Monitor: ${name}: ${metric.errorCode} ${metric.errorMessage ?? ''}`.trim());
        // A VM's platform metrics have no dimensions: one series (the first, if Azure splits it).
        for (const d of metric.timeseries[0]?.data ?? []) {
          series[name].push({
            at: d.timeStamp,
            ...(d.average !== undefined ? { average: d.average } : {}),
            ...(d.minimum !== undefined ? { minimum: d.minimum } : {}),
            ...(d.maximum !== undefined ? { maximum: d.maximum } : {}),
            ...(d.total !== undefined ? { total: d.total } : {}),
          });
        }
        series[name].sort((a, b) => a.at.getTime() - b.at.getTime());
      }
      return { interval: response.interval ?? interval, series };
    },
    async vm(signal) {
      const vm = await clients.compute.virtualMachines.get(options.resourceGroup, options.vmName, {
        abortSignal: signal,
      });
      const size = vm.hardwareProfile?.vmSize;
      if (!size) throw new Error(`vm metrics: ${options.vmName} reports no size`);
      return { name: vm.name ?? options.vmName, size, location: vm.location };
    },
  };
}
