package certificates

import (
	"cmp"
	"slices"

	"github.com/sh-preschool/preschool/backoffice/dashboard"
	dashboardenrolment "github.com/sh-preschool/preschool/backoffice/dashboard/enrolment"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// builder adds the call counters, rollup rows and form requirements up by
// district and by certificate type.
type builder struct {
	libraryNames map[string]string
	apiTypes     map[string]bool
	districts    []*DistrictFigures
	byDistrict   map[string]*DistrictFigures
	types        map[string]*TypeFigures
	// totalCallers is the distinct callers over all districts, which is
	// not the sum of the districts' callers.
	totalCallers int64
}

func newBuilder(libraryNames map[string]string) *builder {
	b := &builder{
		libraryNames: libraryNames,
		apiTypes:     map[string]bool{},
		byDistrict:   map[string]*DistrictFigures{},
		types:        map[string]*TypeFigures{},
	}
	for _, t := range enrol.CertificateAPITypes {
		b.apiTypes[t.Code] = true
		b.certificateType(t.Code)
	}
	return b
}

func (b *builder) district(code, name string) {
	figures := &DistrictFigures{Code: code, Name: name, RequestedTypes: []RequestedType{}}
	b.districts = append(b.districts, figures)
	b.byDistrict[code] = figures
}

// certificateType returns the figures of a type, adding them on first use.
func (b *builder) certificateType(code string) *TypeFigures {
	if figures, ok := b.types[code]; ok {
		return figures
	}
	figures := &TypeFigures{Code: code, Name: b.typeName(code, ""), Available: b.apiTypes[code]}
	b.types[code] = figures
	return figures
}

// typeName returns the city library's name of a type, else the certificate
// API's, else fallback, else the code.
func (b *builder) typeName(code, fallback string) string {
	if name := b.libraryNames[code]; name != "" {
		return name
	}
	for _, t := range enrol.CertificateAPITypes {
		if t.Code == code {
			return t.Name
		}
	}
	if fallback != "" {
		return fallback
	}
	return code
}

func (b *builder) addCalls(calls callCounts) {
	for code, callers := range calls.CallersByDistrict {
		if d, ok := b.byDistrict[code]; ok {
			d.Callers = callers
		}
	}
	for _, count := range calls.Counts {
		d, ok := b.byDistrict[count.District]
		if !ok {
			continue
		}
		t := b.certificateType(count.CertificateType)
		d.Calls += count.Calls
		t.Calls += count.Calls
		switch count.Outcome {
		case enrol.CallSuccess:
			d.SuccessfulCalls += count.Calls
			t.Successes += count.Calls
		case enrol.CallNotFound:
			t.NotFound += count.Calls
		case enrol.CallFailure:
			t.Failures += count.Calls
		}
	}
	b.totalCallers = calls.Callers
}

func (b *builder) addRollup(rows []rollupRow) {
	for _, row := range rows {
		d, ok := b.byDistrict[row.District]
		if !ok {
			continue
		}
		if row.Kind == dashboardenrolment.KindApplication {
			b.addApplicationRow(d, row)
			continue
		}
		switch {
		case row.CertificateType == "" && row.Source == sourceRecord:
			d.Registrations += row.Records
		case row.CertificateType == "" && row.Source == sourceFetched:
			d.WithFetched += row.Records
		case row.CertificateType == "" && row.Source == sourceUploaded:
			d.WithUploaded += row.Records
		case row.Source == sourceFetched:
			d.FetchedCertificates += row.Records
			d.AttachedCertificates += row.Records
			b.certificateType(row.CertificateType).Fetched += row.Records
		case row.Source == sourceUploaded:
			d.AttachedCertificates += row.Records
			b.certificateType(row.CertificateType).Uploaded += row.Records
		}
	}
}

func (b *builder) addApplicationRow(d *DistrictFigures, row rollupRow) {
	switch {
	case row.CertificateType == "" && row.Source == sourceRecord:
		d.Applications += row.Records
	case row.CertificateType == "" && row.Source == sourceUploaded:
		d.ApplicationsWithUploaded += row.Records
	case row.Source == sourceUploaded:
		b.certificateType(row.CertificateType).ApplicationsUploaded += row.Records
	}
}

func (b *builder) addRequirements(rows []requirementRow) {
	for _, row := range rows {
		d, ok := b.byDistrict[row.District]
		if !ok {
			continue
		}
		requested := RequestedType{Code: row.Code, Name: b.typeName(row.Code, row.Name), Required: row.Required, Available: b.apiTypes[row.Code]}
		d.RequestedTypes = append(d.RequestedTypes, requested)
		if requested.Available {
			d.AvailableTypes++
		}
	}
}

// finish sums the districts into the totals, computes the rates, and
// returns the totals, the districts in order and the types with the
// certificate API's first.
func (b *builder) finish() (Figures, []DistrictFigures, []TypeFigures) {
	var totals Figures
	districts := make([]DistrictFigures, 0, len(b.districts))
	for _, d := range b.districts {
		d.Figures.rates()
		totals.add(d.Figures)
		districts = append(districts, *d)
	}
	totals.Callers = b.totalCallers
	totals.rates()

	types := make([]TypeFigures, 0, len(b.types))
	for _, t := range b.types {
		t.SuccessRate = dashboard.Rate(float64(t.Successes), float64(t.Calls))
		t.CallCoverage = dashboard.Rate(float64(t.Fetched), float64(totals.Registrations))
		t.UploadCoverage = dashboard.Rate(float64(t.Uploaded), float64(totals.Registrations))
		types = append(types, *t)
	}
	slices.SortFunc(types, func(x, y TypeFigures) int {
		if x.Available != y.Available {
			if x.Available {
				return -1
			}
			return 1
		}
		return cmp.Compare(x.Code, y.Code)
	})
	return totals, districts, types
}

// add adds the counts of other, leaving the rates and Callers, which do
// not add up.
func (f *Figures) add(other Figures) {
	f.Calls += other.Calls
	f.SuccessfulCalls += other.SuccessfulCalls
	f.Registrations += other.Registrations
	f.WithFetched += other.WithFetched
	f.WithUploaded += other.WithUploaded
	f.FetchedCertificates += other.FetchedCertificates
	f.AttachedCertificates += other.AttachedCertificates
	f.Applications += other.Applications
	f.ApplicationsWithUploaded += other.ApplicationsWithUploaded
}

func (f *Figures) rates() {
	f.SuccessRate = dashboard.Rate(float64(f.SuccessfulCalls), float64(f.Calls))
	f.CallCoverage = dashboard.Rate(float64(f.WithFetched), float64(f.Registrations))
	f.UploadCoverage = dashboard.Rate(float64(f.WithUploaded), float64(f.Registrations))
	f.PrefillRate = dashboard.Rate(float64(f.FetchedCertificates), float64(f.AttachedCertificates))
	f.ApplicationUploadCoverage = dashboard.Rate(float64(f.ApplicationsWithUploaded), float64(f.Applications))
}
