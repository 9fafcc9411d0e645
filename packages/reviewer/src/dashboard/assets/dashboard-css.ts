import { readDashboardCss } from './bundle-dashboard';

/**
 * The dashboard's stylesheet (source: `dashboard.css`), read when this module loads. The tsup
 * build replaces this module with the file's text (tsup.config.ts).
 */
export const DASHBOARD_CSS: string = readDashboardCss();
