// Package awsmodel loads botocore service models (service-2.json, as the
// aws CLI ships them) and checks JSON values against their shapes, so that
// the tests of the AWS-compatible APIs can hold every request, response and
// error body to the contract the real clients were generated from.
//
// A value is checked against a shape as botocore's JSON and rest-json
// protocols put it on the wire:
//
//	structure  JSON object; only modelled members, required ones present;
//	           members bound to a header, query string or URI are not in
//	           the body
//	list, map  JSON array / object; members, keys and values checked, and
//	           the list's length
//	string     JSON string; enum, length (in characters) and the pattern,
//	           anchored, when it compiles in RE2
//	timestamp  JSON number of epoch seconds (the JSON protocols' default)
//	integer    JSON number without a fraction, within min and max; long too
//	boolean    JSON bool
//	blob       JSON string, standard base64
//
// A JSON null counts as an absent member (botocore and the Go SDK skip it).
// Values are those DecodeJSON returns: numbers stay json.Number so that an
// integer is told from a fraction.
//
// The package is neutral: it imports only the standard library, so any
// package's tests may use it.
package awsmodel
