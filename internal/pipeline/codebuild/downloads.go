package codebuild

import (
	"context"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/pipeline/build"
	"github.com/artifactd/registry/internal/server"
)

// RegisterDownloads adds GET /builds/:id/log and
// GET /builds/:id/artifacts/:name to e, behind mw (cmd/registry passes the
// Text error flavour and token authentication).
func (a *API) RegisterDownloads(e *echo.Echo, mw ...echo.MiddlewareFunc) {
	e.GET("/builds/:id/log", a.ServeLog, mw...)
	e.GET("/builds/:id/artifacts/:name", a.ServeArtifact, mw...)
}

// download resolves and authorizes the build a download is about.
func (a *API) download(c echo.Context) (build.Build, error) {
	if _, ok := server.CallerOf(c); !ok {
		return build.Build{}, &server.APIError{Status: http.StatusUnauthorized, Code: "Unauthorized",
			Msg: "authentication required: send a token from aws codeartifact get-authorization-token (Bearer, or the Basic password)"}
	}
	id, err := url.PathUnescape(c.Param("id"))
	if err != nil {
		return build.Build{}, &server.APIError{Status: http.StatusBadRequest, Code: "InvalidInputException", Msg: "bad build id"}
	}
	id = buildID(id)
	if err := a.Authorize(c, "codebuild:BatchGetBuilds", a.Builds.ProjectARN(projectOf(id))); err != nil {
		return build.Build{}, err
	}
	b, err := a.Builds.Build(c.Request().Context(), id)
	if err != nil {
		return build.Build{}, wireError(err)
	}
	return b, nil
}

// ServeLog serves a build's log as text/plain. While the build runs the
// response stays open and streams (chunked) what is appended, until the
// build completes or the client goes away.
func (a *API) ServeLog(c echo.Context) error {
	b, err := a.download(c)
	if err != nil {
		return err
	}
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Flush()
	ctx := c.Request().Context()
	if a.Closing != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		go func() {
			select {
			case <-a.Closing:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	if err := a.Builds.FollowLog(ctx, b.ID, w, w.Flush); err != nil && a.Log != nil {
		// The status line is sent; there is nothing left to tell the client.
		a.Log.Warn("streaming a build log", "build", b.ID, "err", err)
	}
	return nil
}

// ServeArtifact serves one of a build's artifact zips.
func (a *API) ServeArtifact(c echo.Context) error {
	b, err := a.download(c)
	if err != nil {
		return err
	}
	name, _ := url.PathUnescape(c.Param("name"))
	rc, art, err := a.Builds.OpenArtifact(c.Request().Context(), b.ID, name)
	if err != nil {
		return wireError(err)
	}
	defer rc.Close()
	file := art.Name
	if file == "" {
		file = name
	}
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="`+url.PathEscape(file)+`.zip"`)
	c.Response().Header().Set("ETag", `"`+art.Digest+`"`)
	http.ServeContent(c.Response(), c.Request(), file+".zip", b.EndTime, rc)
	return nil
}
