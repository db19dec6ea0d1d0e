-- The party reports, books and materials the center keeps (article 10), and their loans
-- to the town's branches. A loan takes copies out of the shelf until it is returned; the
-- service locks the material's row while it counts what is on loan, so two loans can
-- never together take more copies than the center holds.

CREATE TABLE materials (
    town_id          uuid NOT NULL REFERENCES towns (id),
    id               uuid NOT NULL,
    title            text NOT NULL,
    -- party_press (党报党刊), book (书籍), document (文件资料), audiovisual (音像资料), other.
    kind             text NOT NULL,
    -- The copies the center holds, on the shelf or lent.
    copies           integer NOT NULL,
    note             text,
    created_by       text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    version          bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (town_id, id),
    CONSTRAINT materials_id_key UNIQUE (id),
    CONSTRAINT materials_kind_valid CHECK (kind IN ('party_press', 'book', 'document', 'audiovisual', 'other')),
    CONSTRAINT materials_title_length CHECK (char_length(title) BETWEEN 1 AND 200),
    CONSTRAINT materials_copies_range CHECK (copies BETWEEN 0 AND 100000)
);

CREATE TABLE material_loans (
    town_id          uuid NOT NULL REFERENCES towns (id),
    id               uuid NOT NULL,
    material_id      uuid NOT NULL,
    branch_id        uuid NOT NULL,
    -- Who took it for the branch.
    borrower         text NOT NULL,
    copies           integer NOT NULL,
    lent_on          date NOT NULL,
    due_on           date NOT NULL,
    returned_on      date,
    lent_by          text NOT NULL,
    returned_by      text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    version          bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (town_id, id),
    CONSTRAINT material_loans_id_key UNIQUE (id),
    CONSTRAINT material_loans_material_fk FOREIGN KEY (town_id, material_id) REFERENCES materials (town_id, id),
    CONSTRAINT material_loans_branch_fk FOREIGN KEY (town_id, branch_id) REFERENCES branches (town_id, id),
    CONSTRAINT material_loans_copies_positive CHECK (copies >= 1),
    CONSTRAINT material_loans_borrower_length CHECK (char_length(borrower) BETWEEN 1 AND 50),
    CONSTRAINT material_loans_dates CHECK (due_on >= lent_on AND (returned_on IS NULL OR returned_on >= lent_on)),
    CONSTRAINT material_loans_returned_shape CHECK ((returned_on IS NULL) = (returned_by IS NULL))
);
CREATE INDEX material_loans_by_material ON material_loans (town_id, material_id, id);
-- The overdue listing: open loans by due day.
CREATE INDEX material_loans_open ON material_loans (town_id, due_on) WHERE returned_on IS NULL;
