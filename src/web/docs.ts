// Starts swagger-ui (loaded just before by docs.html) on this service's /openapi.json, with nothing from other hosts.

/** The one global swagger-ui-bundle.js defines; only the options used here are typed. */
declare const SwaggerUIBundle: (options: {
  url: string;
  dom_id: string;
  validatorUrl: null;
  deepLinking: boolean;
  tryItOutEnabled: boolean;
}) => unknown;

SwaggerUIBundle({
  // Relative to the page, so that a stage prefix (/prod/docs) is kept.
  url: new URL('openapi.json', document.baseURI).href,
  dom_id: '#swagger-ui',
  // The default sends the document to validator.swagger.io for a badge: no request may leave this origin.
  validatorUrl: null,
  deepLinking: true,
  tryItOutEnabled: false,
});
