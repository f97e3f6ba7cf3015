// The Postgres bus's tables, applied through @vigil/db's migration runner under the `bus`
// namespace. A partitioned append-only log with per-group committed offsets: Kafka's model,
// so the embedded default keeps the same delivery semantics as the distributed deployment.

import type { Migration } from '@vigil/db';

export const BUS_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'bus_log',
    sql: `
CREATE TABLE bus_partitions (
  topic       text    NOT NULL,
  partition   integer NOT NULL CHECK (partition >= 0),
  -- The next offset to assign. Publishers take this row's lock, so offsets of one partition
  -- become visible in order and without gaps: a reader never skips an uncommitted lower offset.
  next_offset bigint  NOT NULL DEFAULT 0,
  PRIMARY KEY (topic, partition)
);

CREATE TABLE bus_log (
  topic        text        NOT NULL,
  partition    integer     NOT NULL,
  "offset"     bigint      NOT NULL,
  key          text,
  value        bytea,
  headers      jsonb       NOT NULL DEFAULT '{}',
  published_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (topic, partition, "offset")
);
CREATE INDEX bus_log_published_at ON bus_log (published_at);

CREATE TABLE bus_group_offsets (
  group_id    text        NOT NULL,
  topic       text        NOT NULL,
  partition   integer     NOT NULL,
  -- The next offset the group reads: everything below it is done or dead-lettered.
  next_offset bigint      NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_id, topic, partition)
);

CREATE TABLE bus_members (
  group_id     text        NOT NULL,
  topic        text        NOT NULL,
  member_id    text        NOT NULL,
  heartbeat_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_id, topic, member_id)
);
`,
  },
];
