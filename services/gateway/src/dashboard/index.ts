// The ops dashboard: the snapshot port and shape, its Postgres source, and its routes (app.ts).
export { dashboardSnapshotSchema, type ConsumerLag, type DashboardSnapshot, type DashboardSource, type DeadLetterDepth } from './snapshot.ts';
export { PostgresDashboardSource, type PostgresDashboardSourceOptions, type Queryable } from './postgres-dashboard-source.ts';
