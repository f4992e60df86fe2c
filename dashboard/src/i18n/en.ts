/** Every English string of the dashboard. id.ts has the same keys (its type is this one's). */
export const en = {
  appName: 'Fleet dashboard',
  loading: 'Loading…',
  retry: 'Try again',
  // Sign-in
  signInTitle: 'Sign in',
  email: 'E-mail',
  password: 'Password',
  signIn: 'Sign in',
  signingIn: 'Signing in…',
  signOut: 'Sign out',
  signedInAs: (email: string) => `Signed in as ${email}`,
  errWrongCredentials: 'Wrong e-mail or password. Check both and try again.',
  errSessionEnded: 'Your session has ended. Sign in again.',
  // Configuration
  errConfig: (problem: string) =>
    `This dashboard is not configured: ${problem}. Whoever deployed it must set VITE_SUPABASE_URL and VITE_SUPABASE_ANON_KEY at build time (or serve config.json next to index.html).`,
  // Errors
  errNetwork: 'Cannot reach the server. Check your connection; the dashboard retries by itself.',
  errGeneric: (message: string) =>
    `Something went wrong: ${message}. Try again; if it persists, tell your operator.`,
  errNotAllowed: 'You are not allowed to do this.',
  errUpdating: 'Live updates paused: the server did not answer. Retrying…',
  // Tenants
  tenant: 'Tenant',
  noTenants: (email: string) =>
    `${email} is not a member of any tenant yet. Ask your tenant's owner to add this e-mail, then reload.`,
  roleName: { owner: 'owner', admin: 'admin', viewer: 'viewer' } as Record<string, string>,
  suspended: 'This tenant is suspended: devices cannot send data. Contact your operator.',
  // Navigation
  navDevices: 'Devices',
  navAlerts: 'Alerts',
  navUsage: 'Usage',
  // Maintenance
  maintenance: (message: string) =>
    `The platform is in maintenance: ${message}. Devices keep their data and resend it afterwards; values here may be late.`,
  maintenanceSince: (when: string) => `Since ${when}.`,
  // Devices
  device: 'Device',
  status: 'Status',
  online: 'online',
  offline: 'offline',
  disabled: 'disabled',
  lastSeen: 'Last seen',
  lastValues: 'Last values',
  last24h: 'Last 24 h',
  never: 'never',
  noDevices: 'No devices yet. Provision a device for this tenant and connect it with its credentials.',
  noValues: 'no data yet',
  // Relative time
  justNow: 'just now',
  secondsAgo: (n: number) => `${n} s ago`,
  minutesAgo: (n: number) => `${n} min ago`,
  hoursAgo: (n: number) => `${n} h ago`,
  daysAgo: (n: number) => `${n} d ago`,
  // Device detail
  back: '← Devices',
  metric: 'Metric',
  range: 'Range',
  rangeName: { '1h': '1 h', '24h': '24 h', '7d': '7 d', '30d': '30 d' } as Record<string, string>,
  exportCsv: 'Export CSV',
  exporting: 'Exporting…',
  noNumericMetrics: 'This device has sent no numeric values yet, so there is nothing to chart.',
  noSeries: 'No readings in this range. Pick a longer range or check that the device is sending.',
  deviceNotFound: 'This device does not exist or belongs to another tenant. Go back to the device list.',
  resolution: (raw: boolean): string => (raw ? 'raw readings' : 'hourly means'),
  points: (n: number) => `${n} points`,
  // Alerts
  alertOpen: 'Open',
  alertAcknowledged: 'Acknowledged',
  alertResolved: 'Resolved',
  noAlerts: (state: string) => `No ${state.toLowerCase()} alerts.`,
  severity: 'Severity',
  firedAt: 'Fired',
  rule: 'Rule',
  message: 'Message',
  acknowledge: 'Acknowledge',
  acknowledging: 'Acknowledging…',
  acknowledgedBy: (who: string, when: string) => `Acknowledged by ${who}, ${when}`,
  someone: 'a former member',
  resolvedAt: (when: string) => `resolved ${when}`,
  errAckViewer:
    'Only owners and admins can acknowledge alerts. You are a viewer of this tenant: ask an owner to acknowledge it or to change your role.',
  errAckRefused:
    'The alert could not be acknowledged: you are not an owner or admin of its tenant, or it no longer exists. Reload the list.',
  viewerNote: 'You are a viewer: acknowledging needs the owner or admin role.',
  // Usage
  usageTitle: 'Usage vs plan',
  plan: 'Plan',
  devicesUsage: 'Active devices',
  devicesTotal: (n: number) => `${n} including disabled`,
  messagesToday: 'Messages today (UTC)',
  storage: 'Stored payload (estimate)',
  retention: (days: number) => `within the ${days}-day retention`,
  overLimit: 'Over the plan limit: new messages or devices are refused. Upgrade the plan or reduce the load.',
  nearLimit: 'Near the plan limit.',
  noUsage: 'No usage data for this tenant yet.',
  of: (used: string, limit: string) => `${used} of ${limit}`,
};

export type Strings = typeof en;
