// Backups of the embedded default (issue #24; `capstan admin backup`): the API's answer.
import { type Static, Type } from "typebox";
import { Nullable, Timestamp } from "./common.js";

export const BackupCreated = Type.Object({
  name: Type.String({
    description:
      "The backup's directory under <DATA_DIR>/backups on the server; restore it with 'capstan admin restore --from'",
  }),
  created_at: Timestamp,
  migration: Nullable(Type.String({ description: "The snapshot's newest applied migration" })),
  versions: Type.Integer({ description: "Capability versions (not deleted) in the snapshot" }),
  database_bytes: Type.Integer(),
  blob_count: Type.Integer(),
  blob_bytes: Type.Integer(),
});
export type BackupCreatedView = Static<typeof BackupCreated>;
