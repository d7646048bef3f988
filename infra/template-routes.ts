// Reads back from a synthesized template what each API routes: `METHOD /path` keys, for the tests to compare.
import type { Template } from 'aws-cdk-lib/assertions';

type Ref = { Ref?: string; 'Fn::GetAtt'?: [string, string] };
type ResourceProps = { PathPart: string; ParentId: Ref };
type MethodProps = { HttpMethod: string; ResourceId: Ref };

const propertiesOf = <T>(template: Template, type: string): [string, T][] =>
  Object.entries(template.findResources(type)).map(([id, resource]) => [id, (resource as { Properties: T }).Properties]);

/**
 * Every REST API method as `METHOD /path`, its path rebuilt from the resources' PathPart and ParentId (a ParentId
 * that is not a Ref is the API's RootResourceId).
 */
export const restRouteKeys = (template: Template): string[] => {
  const resources = new Map(propertiesOf<ResourceProps>(template, 'AWS::ApiGateway::Resource'));
  const pathOf = (ref: Ref): string => {
    if (ref.Ref === undefined) return '';
    const resource = resources.get(ref.Ref);
    if (resource === undefined) throw new Error(`no resource ${ref.Ref} in the template`);
    return `${pathOf(resource.ParentId)}/${resource.PathPart}`;
  };
  return propertiesOf<MethodProps>(template, 'AWS::ApiGateway::Method')
    .map(([, method]) => `${method.HttpMethod} ${pathOf(method.ResourceId) || '/'}`)
    .sort();
};

/** Every REST API resource's path, methods or not. */
export const restResourcePaths = (template: Template): string[] => {
  const resources = new Map(propertiesOf<ResourceProps>(template, 'AWS::ApiGateway::Resource'));
  const pathOf = (id: string): string => {
    const resource = resources.get(id) as ResourceProps;
    return `${resource.ParentId.Ref === undefined ? '' : pathOf(resource.ParentId.Ref)}/${resource.PathPart}`;
  };
  return [...resources.keys()].map(pathOf).sort();
};

/** Every HTTP API route key (`POST /login`, `$default`). */
export const httpRouteKeys = (template: Template): string[] =>
  propertiesOf<{ RouteKey: string }>(template, 'AWS::ApiGatewayV2::Route')
    .map(([, route]) => route.RouteKey)
    .sort();
