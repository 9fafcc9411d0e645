import { bundleDashboardScript } from './bundle-dashboard';

/**
 * The dashboard's browser script (source: `browser/dashboard.ts`), bundled when this module loads.
 * The tsup build replaces this module with the bundled text (tsup.config.ts).
 */
export const DASHBOARD_JS: string = bundleDashboardScript();
