package publish_test

import (
	"context"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/backoffice/dictionary"
	"github.com/sh-preschool/preschool/backoffice/publish"
	"github.com/sh-preschool/preschool/backoffice/seed"
	"github.com/sh-preschool/preschool/edge/catalogue"
	"github.com/sh-preschool/preschool/shared/snapshot"
	"github.com/sh-preschool/preschool/shared/testenv"
)

func TestBuildDictionaries(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	database := testenv.NewDatabase(t)
	if err := seed.LoadDivisions(ctx, database.DB); err != nil {
		t.Fatalf("load divisions: %v", err)
	}
	if err := dictionary.Seed(ctx, database.DB); err != nil {
		t.Fatalf("seed dictionaries: %v", err)
	}
	// 徐汇 relabels 01 and hides 97; the city disables 98 everywhere.
	_, err := database.DB.ExecContext(ctx, `
		INSERT INTO dictionary_item (dictionary_code, district_code, value, label, sort_order, enabled) VALUES
		    ('ethnicity', '310104', '01', '汉族（徐汇）', 10, true),
		    ('ethnicity', '310104', '97', '其他', 570, false);
		UPDATE dictionary_item SET enabled = false WHERE dictionary_code = 'ethnicity' AND district_code IS NULL AND value = '98';`)
	if err != nil {
		t.Fatal(err)
	}

	publisher := &publish.Publisher{DB: database.DB, Now: time.Now}
	built, err := publisher.Build(ctx)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if len(built.Dictionaries) != 10 {
		t.Errorf("dictionaries = %d, want 10", len(built.Dictionaries))
	}
	var ethnicity *snapshot.Dictionary
	for i := range built.Dictionaries {
		if built.Dictionaries[i].Code == "ethnicity" {
			ethnicity = &built.Dictionaries[i]
		}
	}
	if ethnicity == nil {
		t.Fatal("the snapshot has no ethnicity dictionary")
	}
	if ethnicity.Name != "民族" || len(ethnicity.Items) != 57 {
		t.Errorf("ethnicity = %s with %d city items, want 民族 with 57 (98 disabled)", ethnicity.Name, len(ethnicity.Items))
	}
	if overrides := ethnicity.Overrides["310104"]; len(overrides) != 2 {
		t.Errorf("徐汇 overrides = %+v, want 2 (the disabled one too)", overrides)
	}
	if len(ethnicity.Overrides) != 1 {
		t.Errorf("districts with overrides = %d, want 1", len(ethnicity.Overrides))
	}

	c, err := catalogue.New(built)
	if err != nil {
		t.Fatalf("catalogue.New rejects the snapshot: %v", err)
	}
	for district, want := range map[string]int{"310104": 56, "310105": 57, "": 57} {
		items := ethnicity.EffectiveItems(district)
		if len(items) != want {
			t.Errorf("district %q sees %d ethnicity items, want %d", district, len(items), want)
		}
		if _, ok := c.DictionaryJSON("ethnicity", district); !ok {
			t.Errorf("the catalogue has no ethnicity body for district %q", district)
		}
	}
	if first := ethnicity.EffectiveItems("310104")[0]; first.Label != "汉族（徐汇）" {
		t.Errorf("first 徐汇 item = %+v, want the override 汉族（徐汇）", first)
	}

	encoded, err := snapshot.Encode(built)
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := snapshot.Decode(encoded)
	if err != nil {
		t.Fatal(err)
	}
	if len(decoded.Dictionaries) != 10 || len(decoded.Dictionaries[0].Items) == 0 {
		t.Errorf("decoded snapshot has %d dictionaries, want 10 with items", len(decoded.Dictionaries))
	}
}
