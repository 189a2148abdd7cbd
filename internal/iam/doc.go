// Package iam serves the subset of AWS IAM and STS that the registry needs
// to manage its own principals, over AWS's query protocol: the client POSTs a
// form (Action=CreateUser&Version=2010-05-08&UserName=...) and gets XML back.
// The shapes are those of the botocore service models iam/2010-05-08 and
// sts/2011-06-15, so the unmodified aws CLI and SDKs work against it.
//
// Protocol table. Every IAM action is authorized through the Authorizer with
// action "iam:<Action>" on the resource shown (<path><name> is the target
// user's; a user the request names but that does not exist is checked at
// path "/"). An omitted optional UserName means the caller.
//
//	service action             parameters                          resource                    result
//	iam     CreateUser         UserName, Path                      user<Path><UserName>        User
//	iam     GetUser            [UserName]                          user<path><name> | root     User
//	iam     ListUsers          [PathPrefix], Marker, MaxItems      user<PathPrefix>*           Users, IsTruncated, Marker
//	iam     DeleteUser         UserName                            user<path><name>            -
//	iam     CreateAccessKey    [UserName]                          user<path><name>            AccessKey (with secret)
//	iam     ListAccessKeys     [UserName], Marker, MaxItems        user<path><name>            AccessKeyMetadata, ...
//	iam     DeleteAccessKey    [UserName], AccessKeyId             user<path><name>            -
//	iam     PutUserPolicy      UserName, PolicyName, PolicyDocument user<path><name>           -
//	iam     GetUserPolicy      UserName, PolicyName                user<path><name>            UserName, PolicyName, PolicyDocument (URL-encoded)
//	iam     ListUserPolicies   UserName, Marker, MaxItems          user<path><name>            PolicyNames, IsTruncated, Marker
//	iam     DeleteUserPolicy   UserName, PolicyName                user<path><name>            -
//	sts     GetCallerIdentity  -                                   (not authorized)            UserId, Account, Arn
//
// Resources are "arn:aws:iam::<account>:" followed by the column above.
//
// A response is
//
//	<ActionResponse xmlns="..."><ActionResult>...</ActionResult>
//	  <ResponseMetadata><RequestId>id</RequestId></ResponseMetadata></ActionResponse>
//
// (no ActionResult for actions without output) and an error is
//
//	<ErrorResponse xmlns="..."><Error><Type>Sender</Type><Code>NoSuchEntity</Code>
//	  <Message>...</Message></Error><RequestId>id</RequestId></ErrorResponse>
//
// with the code repeated in the x-amzn-ErrorType header. errors.go maps
// error kinds to codes and statuses.
//
// The package imports internal/domain and the standard library; the store
// and the authorizer are supplied by cmd/registry.
package iam
