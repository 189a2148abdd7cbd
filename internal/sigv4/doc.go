// Package sigv4 verifies requests signed with AWS Signature Version 4, the
// scheme the aws CLI and the AWS SDKs use when pointed at this server with
// --endpoint-url.
//
// It is pure: it imports the standard library and internal/domain only. It
// does not look up access keys, read request bodies or decide which service
// a request is for; the caller does, in this order:
//
//	auth, ok, err := sigv4.ParseRequest(r)   // Authorization header or presigned query
//	if !ok { /* not SigV4: anonymous, Bearer or Basic */ }
//	secret := lookup(auth.AccessKeyID)       // unknown key: UnrecognizedClientException
//	check auth.Service (and auth.Region) against the route
//	hash := payload hash (see Verify)
//	err = sigv4.Verify(r, auth, secret, hash, time.Now())
//
// Every error wraps domain.ErrUnauthenticated; ErrorCode names the AWS
// exception (IncompleteSignatureException, InvalidSignatureException, ...)
// for the error body.
//
// # The signed string
//
// Spec: https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
// Verify rebuilds what the client signed and compares HMACs in constant time:
//
//	CanonicalRequest =                          StringToSign =
//	  Method                  + "\n" +            "AWS4-HMAC-SHA256" + "\n" +
//	  CanonicalURI            + "\n" +            X-Amz-Date (20150830T123600Z) + "\n" +
//	  CanonicalQueryString    + "\n" +            Date/Region/Service/aws4_request + "\n" +
//	  CanonicalHeaders        + "\n" +            hex(sha256(CanonicalRequest))
//	  SignedHeaders           + "\n" +
//	  PayloadHash                               Signature = hex(HMAC(SigningKey, StringToSign))
//	                                            SigningKey = HMAC(HMAC(HMAC(HMAC(
//	                                              "AWS4"+secret, Date), Region), Service), "aws4_request")
//
// In the canonical request:
//
//   - CanonicalURI: the path exactly as sent on the wire (r.RequestURI, or
//     r.URL.EscapedPath() for a request that did not come from a server),
//     URI-encoded once more with only A-Z a-z 0-9 - . _ ~ and '/' left
//     alone, as AWS does for every service except S3 (so "%2F" is signed as
//     "%252F"). botocore first removes "." and ".." segments and empty
//     segments ("//"); the Go SDK does not. Verify accepts either form.
//   - CanonicalQueryString: each name=value pair decoded and re-encoded
//     with the same unreserved set (space is %20), sorted by name and then
//     value; X-Amz-Signature is left out of a presigned request's.
//   - CanonicalHeaders: for each name in SignedHeaders, in that order,
//     "name:" + the values trimmed, inner runs of spaces collapsed, joined
//     with "," + "\n". host is r.Host.
//
// A presigned URL carries the same fields as X-Amz-Algorithm,
// X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders and
// X-Amz-Signature query parameters; ParseQuery reads them.
//
// Because the canonical URI removes dot segments, a signature over /a/b is
// also valid for /a/x/../b: route on a cleaned path, or reject paths with
// dot segments before routing, so both reach the same handler.
package sigv4
