package dictionary

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/sh-preschool/preschool/migrations"
)

func TestReadSeedEmbedded(t *testing.T) {
	dictionaries, err := readSeed(migrations.Seed)
	if err != nil {
		t.Fatalf("readSeed: %v", err)
	}
	if len(dictionaries) != 10 {
		t.Errorf("dictionaries = %d, want 10", len(dictionaries))
	}
	for _, dictionary := range dictionaries {
		for i, item := range dictionary.items {
			if item.SortOrder != (i+1)*10 {
				t.Errorf("%s item %s sort order = %d, want %d", dictionary.Code, item.Value, item.SortOrder, (i+1)*10)
				break
			}
		}
	}
}

func TestReadSeedRejects(t *testing.T) {
	index := "code,name,description\nethnicity,民族,民族\n"
	cases := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"missing items file", map[string]string{"dictionaries.csv": index}, "ethnicity.csv"},
		{"wrong header", map[string]string{"dictionaries.csv": index, "ethnicity.csv": "code,name\n01,汉族\n"}, "header"},
		{"markup label", map[string]string{"dictionaries.csv": index, "ethnicity.csv": "value,label\n01,<b>汉族</b>\n"}, "line 2"},
		{"repeated value", map[string]string{"dictionaries.csv": index, "ethnicity.csv": "value,label\n01,汉族\n01,汉\n"}, "line 3"},
		{"no items", map[string]string{"dictionaries.csv": index, "ethnicity.csv": "value,label\n"}, "no items"},
		{"invalid code", map[string]string{"dictionaries.csv": "code,name,description\nEthnicity,民族,民族\n"}, "line 2"},
		{"extra column", map[string]string{"dictionaries.csv": index, "ethnicity.csv": "value,label\n01,汉族,x\n"}, "ethnicity.csv"},
	}
	for _, test := range cases {
		t.Run(test.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for name, content := range test.files {
				fsys[seedDirectory+"/"+name] = &fstest.MapFile{Data: []byte(content)}
			}
			_, err := readSeed(fsys)
			if err == nil {
				t.Fatal("readSeed accepted the files")
			}
			if !strings.Contains(err.Error(), test.want) {
				t.Errorf("error %q does not mention %q", err, test.want)
			}
		})
	}
}
