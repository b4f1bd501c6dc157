import GRDB

/// The database schema as a list of migrations.
///
/// A migration is never edited once shipped: a change of schema is a new migration appended
/// here. The write path is shaped by what SQLite does fast (measured per core: about 1 M plain
/// inserts/s, under 0.1 M into a UNIQUE index on random 32-byte keys, and half the plain rate
/// with any second index): since v11 signals are appended to a table with no index beside its
/// rowid, and the one random-key index (person keys) is touched by consents, not by signals.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-partners-consents-signals") { db in
            try db.execute(
                sql: """
                    CREATE TABLE meta (
                        key TEXT PRIMARY KEY NOT NULL,
                        value TEXT NOT NULL
                    ) WITHOUT ROWID;

                    CREATE TABLE partner (
                        id INTEGER PRIMARY KEY,
                        slug TEXT NOT NULL UNIQUE,
                        name TEXT NOT NULL,
                        status TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
                        created_at INTEGER NOT NULL
                    );

                    CREATE TABLE api_key (
                        key_id TEXT PRIMARY KEY NOT NULL,
                        partner_id INTEGER NOT NULL REFERENCES partner(id),
                        secret_digest BLOB NOT NULL,
                        created_at INTEGER NOT NULL,
                        revoked_at INTEGER
                    ) WITHOUT ROWID;
                    CREATE INDEX api_key_by_partner ON api_key(partner_id);

                    -- One row per person key: HMAC-SHA256(pepper, kid || token). Never a token.
                    CREATE TABLE person (
                        id INTEGER PRIMARY KEY,
                        key BLOB NOT NULL UNIQUE
                    );

                    CREATE TABLE consent (
                        partner_id INTEGER NOT NULL REFERENCES partner(id),
                        person_id INTEGER NOT NULL REFERENCES person(id),
                        purposes INTEGER NOT NULL,
                        granted_at INTEGER NOT NULL,
                        expires_at INTEGER,
                        proof TEXT,
                        batch_id INTEGER NOT NULL,
                        PRIMARY KEY (partner_id, person_id)
                    ) WITHOUT ROWID;
                    CREATE INDEX consent_by_person ON consent(person_id);

                    CREATE TABLE category (
                        id INTEGER PRIMARY KEY,
                        partner_id INTEGER NOT NULL REFERENCES partner(id),
                        name TEXT NOT NULL,
                        UNIQUE (partner_id, name)
                    );

                    -- Append-only in normal operation; erased by revocation.
                    CREATE TABLE signal (
                        id INTEGER PRIMARY KEY,
                        partner_id INTEGER NOT NULL,
                        person_id INTEGER NOT NULL,
                        category_id INTEGER NOT NULL,
                        weight REAL NOT NULL,
                        observed_at INTEGER NOT NULL,
                        batch_id INTEGER NOT NULL
                    );
                    CREATE INDEX signal_by_person ON signal(person_id, partner_id);

                    -- Every accepted write, with its answer for idempotent replay.
                    CREATE TABLE batch (
                        id INTEGER PRIMARY KEY,
                        partner_id INTEGER NOT NULL REFERENCES partner(id),
                        kind TEXT NOT NULL,
                        received INTEGER NOT NULL,
                        accepted INTEGER NOT NULL,
                        body_sha256 BLOB NOT NULL,
                        idempotency_key TEXT,
                        receipt TEXT NOT NULL,
                        created_at INTEGER NOT NULL
                    );
                    CREATE UNIQUE INDEX batch_by_idempotency_key ON batch(partner_id, idempotency_key)
                        WHERE idempotency_key IS NOT NULL;
                    """)
        }
        migrator.registerMigration("v2-releases") { db in
            try db.execute(
                sql: """
                    -- Releases skip signals of expired consent; this finds those consents fast.
                    CREATE INDEX consent_by_expiry ON consent(expires_at) WHERE expires_at IS NOT NULL;

                    -- Immutable once written; the pairs blob holds guarded counts only.
                    CREATE TABLE release (
                        id INTEGER PRIMARY KEY,
                        created_at INTEGER NOT NULL,
                        trigger TEXT NOT NULL,
                        budget_period TEXT NOT NULL,
                        rho REAL NOT NULL,
                        epsilon_left REAL,
                        settings TEXT NOT NULL,
                        plan TEXT NOT NULL,
                        summary TEXT NOT NULL,
                        duration_ms INTEGER NOT NULL,
                        pairs BLOB NOT NULL
                    );
                    CREATE INDEX release_by_period ON release(budget_period);
                    CREATE TRIGGER release_is_immutable BEFORE UPDATE ON release
                    BEGIN SELECT RAISE(ABORT, 'releases are immutable'); END;
                    """)
        }
        migrator.registerMigration("v3-covering-person-index") { db in
            // Releases read signals grouped by person; a covering index in person order lets
            // them stream persons straight from the index (several ranges at once) instead of
            // sorting the table. It also serves revocation's (person, partner) deletes.
            try db.execute(
                sql: """
                    CREATE INDEX signal_by_person_for_release ON signal(person_id, partner_id, category_id, weight);
                    DROP INDEX signal_by_person;
                    """)
        }
        migrator.registerMigration("v4-audit-ledger") { db in
            try db.execute(
                sql: """
                    -- Append-only, hash-chained record of every state change (see LedgerEntry).
                    -- No token or person key is ever written here.
                    CREATE TABLE ledger (
                        sequence INTEGER PRIMARY KEY,
                        at INTEGER NOT NULL,
                        action TEXT NOT NULL,
                        partner TEXT,
                        details TEXT NOT NULL,
                        previous_hash BLOB NOT NULL,
                        hash BLOB NOT NULL
                    );
                    CREATE INDEX ledger_by_partner ON ledger(partner, sequence);
                    """)
        }
        migrator.registerMigration("v5-revocation-records") { db in
            try db.execute(
                sql: """
                    -- One row per honoured revocation, naming the person only by a keyed pseudonym
                    -- (AuditPseudonymizer), so a consent audit can prove the erasure still holds.
                    CREATE TABLE revocation (
                        id INTEGER PRIMARY KEY,
                        partner_id INTEGER NOT NULL REFERENCES partner(id),
                        pseudonym BLOB NOT NULL,
                        batch_id INTEGER NOT NULL,
                        at INTEGER NOT NULL
                    );
                    CREATE INDEX revocation_by_partner ON revocation(partner_id, at);
                    """)
        }
        migrator.registerMigration("v6-consent-history") { db in
            try db.execute(
                sql: """
                    -- Consent history per person and partner, under the audit pseudonym (see
                    -- ConsentEventRecorder). Never a token or person key.
                    CREATE TABLE consent_event (
                        id INTEGER PRIMARY KEY,
                        partner_id INTEGER NOT NULL REFERENCES partner(id),
                        pseudonym BLOB NOT NULL,
                        event TEXT NOT NULL,
                        purposes INTEGER,
                        granted_at INTEGER,
                        expires_at INTEGER,
                        proof TEXT,
                        batch_id INTEGER,
                        at INTEGER NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v7-leases") { db in
            try db.execute(
                sql: """
                    -- Which daemon runs the scheduled release and retention (see acquireLease).
                    CREATE TABLE lease (
                        name TEXT PRIMARY KEY NOT NULL,
                        holder TEXT NOT NULL,
                        expires_at INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v8-batch-dropped-lines") { db in
            try db.execute(
                sql: """
                    -- The lines of a signal batch dropped for missing consent (DroppedLines), so a
                    -- retry under the same Idempotency-Key stores those that consents cover now.
                    ALTER TABLE batch ADD COLUMN dropped_lines BLOB;
                    """)
        }
        migrator.registerMigration("v9-key-roles-portal-sessions") { db in
            try db.execute(
                sql: """
                    -- What each key may do (KeyRole): the keys before this version upload.
                    ALTER TABLE api_key ADD COLUMN role TEXT NOT NULL DEFAULT 'upload' CHECK (role IN ('upload', 'read'));
                    ALTER TABLE api_key ADD COLUMN label TEXT;
                    -- Portal sign-ins, by the SHA-256 of the cookie's token (never the token).
                    CREATE TABLE portal_session (
                        digest BLOB PRIMARY KEY NOT NULL,
                        key_id TEXT NOT NULL REFERENCES api_key(key_id),
                        created_at INTEGER NOT NULL,
                        expires_at INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX portal_session_by_expiry ON portal_session(expires_at);
                    """)
        }
        migrator.registerMigration("v10-outcomes-pooled-acceptance") { db in
            try db.execute(
                sql: """
                    -- Partners' reported outcomes (POST /v1/outcomes): counts per suggestion and
                    -- period, never a person. A correction adds a row and marks the one it
                    -- replaces, so a day's list can be rebuilt from what was known then.
                    CREATE TABLE outcome (
                        id INTEGER PRIMARY KEY,
                        partner_id INTEGER NOT NULL REFERENCES partner(id),
                        batch_id INTEGER NOT NULL REFERENCES batch(id),
                        release_id INTEGER NOT NULL,
                        kind TEXT NOT NULL CHECK (kind IN ('cross', 'instead')),
                        item TEXT NOT NULL,
                        suggested TEXT NOT NULL,
                        period_start INTEGER NOT NULL,
                        period_end INTEGER NOT NULL,
                        invited INTEGER NOT NULL CHECK (invited >= 0),
                        accepted INTEGER NOT NULL CHECK (accepted >= 0 AND accepted <= invited),
                        in_baseline INTEGER NOT NULL,
                        mode TEXT NOT NULL CHECK (mode IN ('explore', 'exploit')),
                        recorded_at INTEGER NOT NULL,
                        replaced_at INTEGER
                    );
                    CREATE UNIQUE INDEX outcome_live ON outcome(partner_id, kind, item, suggested, period_start, period_end)
                        WHERE replaced_at IS NULL;
                    CREATE INDEX outcome_by_period_end ON outcome(period_end);
                    -- The pooled acceptance a release published (PooledAcceptance, JSON), if any.
                    ALTER TABLE release ADD COLUMN pooled TEXT;
                    """)
        }
        migrator.registerMigration("v11-append-only-signals") { db in
            try db.execute(
                sql: """
                    -- Signals become an append-only log: no index beside the rowid, so storing a batch
                    -- costs what appending rows costs (a random-key index cost each row five times
                    -- that). Releases group signals by person in memory (ColumnarSignalsBuilder);
                    -- erasure finds a partner's signals through its spans.
                    --
                    -- A span is a rowid range holding signals of one partner: every transaction that
                    -- stores signals records the range of rowids it wrote. Every signal of a partner
                    -- lies in one of that partner's spans; spans may also cover other partners' rows
                    -- (rowids freed at the end of the table are used again), so every read through a
                    -- span also checks partner_id.
                    CREATE TABLE signal_span (
                        partner_id INTEGER NOT NULL,
                        first_id INTEGER NOT NULL,
                        last_id INTEGER NOT NULL,
                        PRIMARY KEY (partner_id, first_id)
                    ) WITHOUT ROWID;
                    INSERT INTO signal_span (partner_id, first_id, last_id)
                        SELECT partner_id, MIN(id), MAX(id) FROM signal GROUP BY partner_id;
                    DROP INDEX signal_by_person_for_release;
                    """)
        }
        return migrator
    }
}
