"""The store's schema, as numbered migrations. A store records the last one applied.

Never edit a migration that has shipped: add the next number. Each runs in the transaction that
records it, so a store is always at exactly one version.
"""

from __future__ import annotations

MIGRATIONS: tuple[tuple[int, str], ...] = (
    (
        1,
        """
        CREATE TABLE contacts (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            source_id TEXT NOT NULL,
            name TEXT NOT NULL,
            given_name TEXT NOT NULL DEFAULT '',
            family_name TEXT NOT NULL DEFAULT '',
            organization TEXT NOT NULL DEFAULT '',
            title TEXT NOT NULL DEFAULT '',
            labels TEXT NOT NULL DEFAULT '[]',
            notes TEXT NOT NULL DEFAULT '',
            file TEXT NOT NULL DEFAULT '',
            line INTEGER NOT NULL DEFAULT 0,
            content_hash TEXT NOT NULL,
            import_seq INTEGER NOT NULL,
            person_id INTEGER,
            handles TEXT NOT NULL DEFAULT '[]',
            UNIQUE (source, source_id)
        );

        -- Which contact records hold an e-mail address: the lookup behind identities (records
        -- sharing an address are one person), `log WHO` and the people exchanges name. Each
        -- record's full ordered list of handles is contacts.handles (JSON). Only e-mails are
        -- indexed: nothing looks phones or URLs up by value during an import, and a large
        -- import inserts these rows in random order, where every extra row costs.
        CREATE TABLE email_index (
            email TEXT NOT NULL,
            contact_id INTEGER NOT NULL,
            PRIMARY KEY (email, contact_id)
        ) WITHOUT ROWID;

        CREATE TABLE interactions (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL,
            kind TEXT NOT NULL,
            value TEXT NOT NULL,
            at TEXT NOT NULL,
            direction TEXT NOT NULL,
            channel TEXT NOT NULL,
            source TEXT NOT NULL,
            name TEXT NOT NULL DEFAULT '',
            import_seq INTEGER NOT NULL,
            UNIQUE (key, kind, value)
        );
        CREATE INDEX interactions_handle ON interactions (kind, value);

        CREATE TABLE quarantine (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            file TEXT NOT NULL,
            line INTEGER NOT NULL,
            reason TEXT NOT NULL,
            raw TEXT NOT NULL,
            import_seq INTEGER NOT NULL
        );
        CREATE INDEX quarantine_file ON quarantine (file);

        CREATE TABLE checkpoints (
            stream TEXT PRIMARY KEY,
            cursor TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );

        CREATE TABLE imports (
            seq INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            what TEXT NOT NULL
        );

        CREATE TABLE assignments (
            person_id INTEGER PRIMARY KEY,
            network TEXT NOT NULL,
            rule TEXT NOT NULL,
            classified_at TEXT NOT NULL
        );

        -- Links the user confirmed (`netgarden merge`, `suggestions --accept`): the two
        -- contact records are one person even without a shared e-mail.
        CREATE TABLE merges (
            contact_a INTEGER NOT NULL,
            contact_b INTEGER NOT NULL,
            merged_at TEXT NOT NULL,
            PRIMARY KEY (contact_a, contact_b)
        ) WITHOUT ROWID;

        """,
    ),
    (
        2,
        """
        -- Mail archives write an exchange per message and recipient, millions of rows. The
        -- table becomes its own unique index on (key, kind, value), one B-tree instead of a
        -- table, that index and a (kind, value) index no query used: a third of the cost of
        -- every insert. Every row is kept.
        CREATE TABLE interactions_v2 (
            key TEXT NOT NULL,
            kind TEXT NOT NULL,
            value TEXT NOT NULL,
            at TEXT NOT NULL,
            direction TEXT NOT NULL,
            channel TEXT NOT NULL,
            source TEXT NOT NULL,
            name TEXT NOT NULL DEFAULT '',
            import_seq INTEGER NOT NULL,
            PRIMARY KEY (key, kind, value)
        ) WITHOUT ROWID;
        INSERT INTO interactions_v2
            (key, kind, value, at, direction, channel, source, name, import_seq)
            SELECT key, kind, value, at, direction, channel, source, name, import_seq
            FROM interactions ORDER BY id;
        DROP TABLE interactions;
        ALTER TABLE interactions_v2 RENAME TO interactions
        """,
    ),
    (
        3,
        """
        -- The user's own addresses as imports inferred them (config.toml named none): they are
        -- never anyone's contact, and exchanges with them are not exchanges.
        CREATE TABLE inferred_me (
            address TEXT PRIMARY KEY,
            source TEXT NOT NULL,
            inferred_at TEXT NOT NULL
        ) WITHOUT ROWID;

        -- Exchanges dated before 1970 or after the year 3000 (a clock never set, a forged
        -- header) were stored by earlier releases, and no report could count them: they go to
        -- the quarantine, where `netgarden errors` shows them.
        INSERT INTO quarantine (source, file, line, reason, raw, import_seq)
            SELECT source, source, 0,
                'date ' || at || ' cannot be a real exchange (set aside by an upgrade)',
                at || ' ' || value || ' ' || key, import_seq
            FROM interactions WHERE at < '1970-01-02' OR at >= '3000';
        DELETE FROM interactions WHERE at < '1970-01-02' OR at >= '3000'
        """,
    ),
    (
        4,
        """
        -- The exchanges of one handle are read together (a person's history): the table is
        -- kept in handle order. Its key is the same three columns, so an exchange is still
        -- stored once per message and counterpart, and an insert costs what it cost.
        CREATE TABLE interactions_v4 (
            key TEXT NOT NULL,
            kind TEXT NOT NULL,
            value TEXT NOT NULL,
            at TEXT NOT NULL,
            direction TEXT NOT NULL,
            channel TEXT NOT NULL,
            source TEXT NOT NULL,
            name TEXT NOT NULL DEFAULT '',
            import_seq INTEGER NOT NULL,
            PRIMARY KEY (kind, value, key)
        ) WITHOUT ROWID;
        INSERT INTO interactions_v4
            (key, kind, value, at, direction, channel, source, name, import_seq)
            SELECT key, kind, value, at, direction, channel, source, name, import_seq
            FROM interactions ORDER BY kind, value, key;
        DROP TABLE interactions;
        ALTER TABLE interactions_v4 RENAME TO interactions;

        -- A person's records, found without reading every record.
        CREATE INDEX contacts_person ON contacts (person_id);

        -- Each person's history as reports count it (pipeline.model.History): totals over all
        -- time and every exchange of the 400 days up to the latest. What the rules and the
        -- report need of a person costs one row, however long their history.
        CREATE TABLE person_stats (
            person_id INTEGER PRIMARY KEY,
            total INTEGER NOT NULL,
            first_at TEXT NOT NULL,
            last TEXT NOT NULL,
            outbound INTEGER NOT NULL,
            inbound INTEGER NOT NULL,
            mutual INTEGER NOT NULL,
            channels TEXT NOT NULL,
            recent TEXT NOT NULL,
            recent_from TEXT
        );
        -- What changed since the histories were last worked out: handles with new exchanges,
        -- people whose records changed. Both are emptied when the histories are.
        CREATE TABLE stale_handles (
            kind TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (kind, value)
        ) WITHOUT ROWID;
        CREATE TABLE stale_people (person_id INTEGER PRIMARY KEY);
        -- Handles with exchanges that no record holds (yet): a record that comes to hold one
        -- makes its person's history stale.
        CREATE TABLE ownerless (
            kind TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (kind, value)
        ) WITHOUT ROWID;
        -- Counts kept as they change, where counting the rows would read the whole table.
        CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
        INSERT INTO counters (name, value) SELECT 'interactions', count(*) FROM interactions;

        -- Every history is worked out anew by the first command after the upgrade.
        INSERT INTO stale_people (person_id)
            SELECT DISTINCT coalesce(person_id, id) FROM contacts;
        INSERT INTO stale_handles (kind, value) SELECT DISTINCT kind, value FROM interactions
        """,
    ),
    (
        5,
        """
        -- person_stats kept a person's last 400 days as JSON, a list of lists: a report over
        -- a hundred thousand people spent most of its time decoding them. They are packed now
        -- (pipeline.model.Timeline): `moments`, the instants as 8-byte integers, and `codes`,
        -- three small integers an exchange. `names` is JSON, the channel counts and the words
        -- the codes index: [[[channel, count], ...], [word, ...]]. The latest exchange has its
        -- own columns. The table holds nothing but what the exchanges give: it is worked out
        -- again by the first command after the upgrade.
        DROP TABLE person_stats;
        CREATE TABLE person_stats (
            person_id INTEGER PRIMARY KEY,
            total INTEGER NOT NULL,
            first_at TEXT NOT NULL,
            last_at TEXT NOT NULL,
            last_direction TEXT NOT NULL,
            last_channel TEXT NOT NULL,
            last_source TEXT NOT NULL,
            outbound INTEGER NOT NULL,
            inbound INTEGER NOT NULL,
            mutual INTEGER NOT NULL,
            names TEXT NOT NULL,
            moments BLOB NOT NULL,
            codes BLOB NOT NULL,
            recent_from TEXT
        );
        INSERT OR IGNORE INTO stale_people (person_id)
            SELECT DISTINCT coalesce(person_id, id) FROM contacts
        """,
    ),
    (
        6,
        """
        -- Every `netgarden run`: when it started, and when and how it ended (its exit code).
        -- A run killed before its end keeps ended_at NULL: the next run marks it interrupted.
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            ended_at TEXT,
            exit_code INTEGER,
            pid INTEGER NOT NULL,
            interrupted INTEGER NOT NULL DEFAULT 0,
            as_of TEXT
        );
        -- What a run did with each source: a [[files]] table, or a stream of an account.
        CREATE TABLE run_sources (
            run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            source TEXT NOT NULL,
            kind TEXT NOT NULL,
            ended_at TEXT NOT NULL,
            ok INTEGER NOT NULL,
            unchanged INTEGER NOT NULL DEFAULT 0,
            contacts_new INTEGER NOT NULL DEFAULT 0,
            contacts_updated INTEGER NOT NULL DEFAULT 0,
            discovered INTEGER NOT NULL DEFAULT 0,
            exchanges_read INTEGER NOT NULL DEFAULT 0,
            exchanges_new INTEGER NOT NULL DEFAULT 0,
            skipped INTEGER NOT NULL DEFAULT 0,
            quarantined INTEGER NOT NULL DEFAULT 0,
            work TEXT NOT NULL DEFAULT '',
            seconds REAL NOT NULL DEFAULT 0,
            error TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (run_id, source)
        ) WITHOUT ROWID;
        CREATE INDEX run_sources_source ON run_sources (source, ended_at);
        -- The per-network figures of each run's report: the trend.
        CREATE TABLE run_networks (
            run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            network TEXT NOT NULL,
            contacts INTEGER NOT NULL,
            overdue INTEGER NOT NULL,
            due_soon INTEGER NOT NULL,
            ok INTEGER NOT NULL,
            never INTEGER NOT NULL,
            pct_in_cadence REAL,
            PRIMARY KEY (run_id, position)
        ) WITHOUT ROWID
        """,
    ),
    (
        7,
        """
        -- person_stats.names held each channel with its count: over a store of millions of
        -- exchanges nearly every person's document was unlike any other, and a report spent a
        -- third of its time decoding them. `names` now holds only names, [[channel, ...],
        -- [word, ...]], which repeat from person to person and are decoded once, and `counts` the
        -- channels' counts, 4-byte little-endian integers in the order of the channels. The
        -- table is worked out again by the first command after the upgrade.
        DROP TABLE person_stats;
        CREATE TABLE person_stats (
            person_id INTEGER PRIMARY KEY,
            total INTEGER NOT NULL,
            first_at TEXT NOT NULL,
            last_at TEXT NOT NULL,
            last_direction TEXT NOT NULL,
            last_channel TEXT NOT NULL,
            last_source TEXT NOT NULL,
            outbound INTEGER NOT NULL,
            inbound INTEGER NOT NULL,
            mutual INTEGER NOT NULL,
            names TEXT NOT NULL,
            counts BLOB NOT NULL,
            moments BLOB NOT NULL,
            codes BLOB NOT NULL,
            recent_from TEXT
        );
        INSERT OR IGNORE INTO stale_people (person_id)
            SELECT DISTINCT coalesce(person_id, id) FROM contacts
        """,
    ),
)

LATEST = MIGRATIONS[-1][0]
